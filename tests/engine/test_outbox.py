"""Nothing that must follow a COMPLETED commit is lost: chained payloads and notifications go
through the state database's outbox, delivered at least once, deduplicated by payload id."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.engine.local import LocalEngine
from cirrostratus.engine.notify import JsonLinesNotifier
from cirrostratus.intake import SqliteIntakeQueue
from cirrostratus.state import SqliteStateStore, State

from .conftest import make_payload

CRASH_AFTER_COMMIT = """
import asyncio, json, os, sys
from cirrostratus.engine import outbox
from cirrostratus.engine.local import LocalEngine

real = outbox.deliver

def deliver(store, intake, notifier):
    # the engine is killed right after a COMPLETED commit that chained payloads
    if any(row.kind == "intake" for row in store.outbox(1000)):
        os._exit(137)
    return real(store, intake, notifier)

outbox.deliver = deliver
payloads = json.loads(open(sys.argv[2]).read())
engine = LocalEngine.open(sys.argv[1])
asyncio.run(engine.run(payloads))
sys.exit(3)
"""


def chained(i: int) -> dict[str, Any]:
    first = {"workflow": "mirror", "upload_options": {"path_template": "${collection}/${id}"}}
    second = {"workflow": "chain-second", "collections": "next"}
    return make_payload("mirror", f"p{i:03d}", process=[first, second])


def serve_until(engine: LocalEngine, check: Callable[[], bool], timeout: float = 90) -> None:
    """Serve the project until `check()` holds; fail if it never does."""
    held: list[bool] = []

    async def watch(_: LocalEngine, stop: asyncio.Event) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if check():
                held.append(True)
                break
            await asyncio.sleep(0.05)
        stop.set()

    asyncio.run(engine.serve(asyncio.Event(), services=[watch]))
    assert held, "timed out"


def states(db: Path, ids: list[str]) -> dict[str, State]:
    store = SqliteStateStore(db)
    try:
        return store.get_states(ids)
    finally:
        store.close()


def test_a_crash_right_after_the_completed_commit_loses_nothing(
    project: Path, tmp_path: Path
) -> None:
    n = 30
    parents = [f"test-collection/workflow-mirror/p{i:03d}" for i in range(n)]
    children = [f"next/workflow-chain-second/p{i:03d}" for i in range(n)]
    (tmp_path / "payloads.json").write_text(json.dumps([chained(i) for i in range(n)]))
    (tmp_path / "crash.py").write_text(CRASH_AFTER_COMMIT)
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "crash.py"), str(project), str(tmp_path / "payloads.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 137, proc.stderr
    db = project / ".cirro" / "state.db"
    before = states(db, parents + children)
    assert any(before.get(p) is State.COMPLETED for p in parents)  # committed, then the crash
    assert not any(c in before for c in children)  # … before any chained payload was sent

    engine = LocalEngine.open(project)
    try:
        serve_until(
            engine,
            lambda: all(
                s is State.COMPLETED
                for s in (
                    engine.store.get_states(parents + children).get(p) for p in parents + children
                )
            ),
        )
        records = engine.store.get_many(parents + children)
        assert all(records[c].state is State.COMPLETED for c in children)
        # each chained payload ran once: delivery is at least once, runs are deduplicated
        assert all(len(records[c].executions) == 1 for c in children)
        published = JsonLinesNotifier(project / ".cirro" / "notifications").read("published")
        announced = {note["attributes"]["payload_id"] for note in published}
        assert set(parents + children) <= announced
        assert engine.store.outbox() == []
    finally:
        engine.close()


def test_a_delivery_repeated_after_a_crash_runs_nothing_twice(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox rows were sent but not yet deleted when the engine stopped: sent again."""
    real_done = SqliteStateStore.outbox_done
    calls: list[int] = []

    def forget_once(self: SqliteStateStore, seqs: Any) -> int:
        calls.append(len(seqs))
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real_done(self, seqs)

    monkeypatch.setattr(SqliteStateStore, "outbox_done", forget_once)
    real_send = SqliteIntakeQueue.send_batch
    sent: list[bytes] = []

    def count(self: SqliteIntakeQueue, bodies: Any, **kw: Any) -> list[str]:
        bodies = list(bodies)
        sent.extend(b for b in bodies if isinstance(b, bytes))
        return real_send(self, bodies, **kw)

    monkeypatch.setattr(SqliteIntakeQueue, "send_batch", count)
    n = 10
    children = [f"next/workflow-chain-second/p{i:03d}" for i in range(n)]
    engine = LocalEngine.open(project)
    try:
        asyncio.run(engine.run([chained(i) for i in range(n)]))
        serve_until(
            engine,
            lambda: (
                all(engine.store.get_states(children).get(c) is State.COMPLETED for c in children)
                and engine.intake.counts().visible == 0
            ),
        )
        records = engine.store.get_many(children)
        assert all(len(records[c].executions) == 1 for c in children)
        assert calls and engine.store.outbox() == []
        chained_sent = [b for b in sent if b"chain-second" in b]
        assert len(chained_sent) > 2 * n  # n parents, n children, and some children again
        assert engine.intake.counts().dead == 0
    finally:
        engine.close()


def test_serve_sends_what_the_outbox_kept_once_the_intake_takes_it_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_send = SqliteIntakeQueue.send_batch
    full = [True]

    def send(self: SqliteIntakeQueue, bodies: Any, **kw: Any) -> list[str]:
        bodies = list(bodies)
        chained = any(b"next/workflow-chain-second" in bytes(b) for b in bodies)
        if chained and full[0]:
            raise OSError(28, "No space left on device")
        return real_send(self, bodies, **kw)

    monkeypatch.setattr(SqliteIntakeQueue, "send_batch", send)
    n = 5
    parents = [f"test-collection/workflow-mirror/p{i:03d}" for i in range(n)]
    children = [f"next/workflow-chain-second/p{i:03d}" for i in range(n)]
    engine = LocalEngine.open(project)
    try:
        engine.submit([chained(i) for i in range(n)])

        def parents_done_then_space() -> bool:
            found = engine.store.get_states(parents)
            if all(found.get(p) is State.COMPLETED for p in parents) and full[0]:
                assert engine.store.outbox()  # the chained payloads wait there
                full[0] = False  # space comes back; no new payload arrives
            found = engine.store.get_states(children)
            return all(found.get(c) is State.COMPLETED for c in children)

        serve_until(engine, parents_done_then_space, timeout=60)
        assert engine.store.outbox() == []
    finally:
        engine.close()
