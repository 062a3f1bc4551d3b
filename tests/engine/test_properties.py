"""Property: any sequence of process and update calls (plus crashes, lease expiry, operator
actions) keeps every record in a legal state, and the event log consistent with it."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cirrostratus.engine.process import process
from cirrostratus.engine.update import Finished, update
from cirrostratus.payload import Payload
from cirrostratus.state import BUSY, TERMINAL, SqliteStateStore, State
from cirrostratus.storage import LocalStore

ITEMS = ("a", "b", "c")


def pid(item: str, workflow: str = "cog") -> str:
    return f"col/workflow-{workflow}/{item}"


def payload(item: str, workflow: str, replace: bool) -> dict[str, Any]:
    return {
        "features": [{"type": "Feature", "id": item, "collection": "col", "properties": {}}],
        "process": {"workflow": workflow, "upload_options": {}, "replace": replace},
    }


class Runner:
    def start(self, p: Payload, execution_id: str) -> None:
        if p.workflow == "broken":
            raise RuntimeError("cannot start")


item_s = st.sampled_from(ITEMS)
ops = st.one_of(
    st.tuples(
        st.just("process"), st.lists(item_s, min_size=1, max_size=4), st.booleans(), st.booleans()
    ),
    st.tuples(
        st.just("update"),
        item_s,
        st.sampled_from(["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]),
        st.sampled_from(["current", "stale", "none"]),
        st.booleans(),
    ),
    st.tuples(st.just("crash_after_claim"), item_s),
    st.tuples(st.just("advance"), st.sampled_from([1, 30, 61, 600])),
    st.tuples(st.just("release")),
    st.tuples(st.just("delete"), item_s),
)

# every (from, to) the event log may ever show
LEGAL: set[tuple[State | None, State | None]] = (
    {
        (s, State.CLAIMED)
        for s in (None, State.FAILED, State.ABORTED, State.COMPLETED, State.INVALID, State.CLAIMED)
    }
    | {
        (s, State.PROCESSING)
        for s in (None, State.FAILED, State.ABORTED, State.COMPLETED, State.INVALID, State.CLAIMED)
    }
    | {(s, t) for s in (None, *BUSY, *TERMINAL) for t in TERMINAL}
    | {(s, None) for s in State}
)


def check(store: SqliteStateStore) -> None:
    events = store.events(limit=10**6)
    by_id: dict[str, list] = {}
    for e in events:
        assert (e.from_state, e.to_state) in LEGAL, e
        chain = by_id.setdefault(e.payload_id, [])
        previous = chain[-1].to_state if chain else None
        assert e.from_state == previous, (e, previous)
        chain.append(e)
    for payload_id, chain in by_id.items():
        rec = store.get(payload_id)
        assert (rec.state if rec else None) == chain[-1].to_state
        if rec is None:
            continue
        assert rec.state in State
        statuses = [x.status for x in rec.executions]
        assert all(s not in ("PENDING", "RUNNING") for s in statuses[:-1]), statuses
        last = statuses[-1] if statuses else None
        assert (last == "PENDING") == (rec.state is State.CLAIMED), (rec.state, statuses)
        assert (last == "RUNNING") == (rec.state is State.PROCESSING), (rec.state, statuses)
        assert (rec.lease_until is not None) == (rec.state is State.CLAIMED)
        if rec.state in BUSY:
            assert chain[-1].execution_id == rec.execution_id
    counted = {k: v for k, v in store.counts().items() if v}
    actual: dict[str, int] = {}
    for payload_id in by_id:
        rec = store.get(payload_id)
        if rec:
            actual[rec.state.value] = actual.get(rec.state.value, 0) + 1
    assert counted == actual


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, max_size=25))
def test_any_sequence_keeps_records_legal(sequence: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        now = [datetime(2026, 1, 1, tzinfo=UTC)]
        store = SqliteStateStore(Path(tmp) / "s.db", now=lambda: now[0], lease_seconds=60)
        payloads = LocalStore(Path(tmp) / "p")
        old_executions: list[str] = ["never-existed"]
        try:
            for op in sequence:
                kind = op[0]
                if kind == "process":
                    _, items, replace, broken = op
                    workflow = "broken" if broken else "cog"
                    process(
                        [payload(i, "cog", replace) for i in items]
                        + ([payload(items[0], workflow, replace)] if broken else []),
                        store=store,
                        payload_store=payloads,
                        runner=Runner(),
                    )
                elif kind == "update":
                    _, item, status, which, invalid = op
                    rec = store.get(pid(item))
                    if which == "current" and rec and rec.execution_id:
                        ex: str | None = rec.execution_id
                    elif which == "stale":
                        ex = old_executions[-1]
                    else:
                        ex = None
                    if rec and rec.execution_id:
                        old_executions.append(rec.execution_id)
                    error = "InvalidInput" if invalid else "ValueError"
                    update(
                        [Finished(pid(item), ex, status, error=error, cause="x")],
                        store=store,
                        payload_store=payloads,
                    )
                elif kind == "crash_after_claim":
                    store.claim(pid(op[1]), f"crashed-{len(old_executions)}")
                elif kind == "advance":
                    now[0] += timedelta(seconds=op[1])
                elif kind == "release":
                    store.release_expired()
                elif kind == "delete":
                    store.delete(pid(op[1]))
                check(store)
        finally:
            store.close()
