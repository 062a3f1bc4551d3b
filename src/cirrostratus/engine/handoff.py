"""`cirro run` while another engine runs the project: hand the payloads over and watch them.

Only one engine runs a project at a time (see `lock`), so a second `cirro run` does not start
executions itself: it queues its payloads for the engine holding the project and follows
their records in the state database until each has ended, reporting them as a run of its own
would. When that engine stops first — another `cirro run` that has finished its own payloads —
this one takes the project over and runs what is still queued itself (`LocalEngine.take_over`),
so it never waits on an engine that is gone.

The payloads a followed one chains to are followed too, as a run of its own reports them:
their ids come from the parent's stored output once it is COMPLETED. A child counts as run
by this hand-over when its latest execution started after its parent ended; a child already
COMPLETED or INVALID from before (and not asked to `replace`) is reported skipped, as the
engine skips it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from cirrostratus.engine.lock import EngineBusy
from cirrostratus.engine.report import TERMINAL, Progress, RunReport, RunTracker
from cirrostratus.payload import Payload, PayloadError, decode
from cirrostratus.state import REPLACEABLE, StateRecord, StateStore
from cirrostratus.storage.keys import payload_key

POLL_S = 0.2
POLL_BATCH = 2000  # records read per poll: the oldest still running come first
SEND_BATCH = 500


def hand_over(
    engine: Any,
    payloads: Iterable[dict[str, Any]],
    *,
    replace: bool = False,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunReport:
    """Submit `payloads` to the engine running the project and wait for each to end."""
    began = time.monotonic()
    tracker = RunTracker(progress)
    store: StateStore = engine.store
    watched: dict[str, str | None] = {}  # payload id → the execution it had before
    children = _Children(engine, tracker)
    source = iter(payloads)
    while chunk := list(islice(source, SEND_BATCH)):
        parsed: list[Payload] = []
        for raw in chunk:
            try:
                parsed.append(Payload.from_dict(raw))
            except PayloadError as exc:  # never sent: no id to follow it by
                key = tracker.expect_unnamed(awaited=False)
                tracker.mark(key, "INVALID", f"PayloadError: {exc}")
        before = store.get_many([p.id for p in parsed])
        to_send: list[dict[str, Any]] = []
        for payload in parsed:
            if not tracker.expect(payload.id, payload.workflow):
                continue  # the same payload twice: the engine would skip the second
            found = before.get(payload.id)
            if (
                found is not None
                and found.state in REPLACEABLE
                and not (replace or payload.replace)
            ):
                error = found.last_error if str(found.state) != "COMPLETED" else None
                tracker.mark(payload.id, str(found.state), error, skipped=True)
                continue
            watched[payload.id] = found.execution_id if found is not None else None
            to_send.append(payload.to_dict())
        if to_send:
            engine.submit(to_send, replace=replace)

    def refresh() -> None:
        for start in range(0, len(watched), POLL_BATCH):
            ids = list(islice(watched, start, start + POLL_BATCH))
            _poll(store, tracker, watched, ids, children)
        children.poll()

    while watched or children.since:
        _poll(store, tracker, watched, list(islice(watched, POLL_BATCH)), children)
        children.poll()
        tracker.tick()
        if not watched and not children.since:
            break
        if engine.lock.holder() is None:
            try:  # the engine stopped before these ran: run them here
                asyncio.run(engine.take_over(tracker, refresh))
                break
            except EngineBusy:
                pass  # another engine took the project first: it runs them; keep following
        sleep(POLL_S)
    tracker.tick()
    tracker.report.wall_s = time.monotonic() - began
    return tracker.report


class _Children:
    """The chained payloads of followed ones: each with the time its parent ended."""

    def __init__(self, engine: Any, tracker: RunTracker) -> None:
        self.engine = engine
        self.tracker = tracker
        self.since: dict[str, str] = {}  # child payload id → when its parent ended
        self.replace: set[str] = set()  # children that run again even if COMPLETED/INVALID

    def add(self, parent: StateRecord) -> None:
        """Follow the payloads a COMPLETED parent chains to (read from its stored output)."""
        try:
            output = decode(
                self.engine.payloads.get_bytes(payload_key(parent.payload_id, "output.json"))
            )
            nexts = (
                []
                if isinstance(output.get("process"), dict)
                else Payload.from_dict(output).next_payloads()
            )
        except Exception:  # no readable output: nothing to follow (the engine says the same)
            return
        for raw in nexts:
            child = Payload.from_dict(raw)
            if self.tracker.expect(child.id, child.workflow, parent=parent.payload_id):
                self.since[child.id] = parent.state_changed
                if child.replace:
                    self.replace.add(child.id)

    def poll(self) -> None:
        """Mark the followed children that have ended (or that the engine skips)."""
        ids = list(islice(self.since, POLL_BATCH))
        if not ids:
            return
        records = self.engine.store.get_many(ids)
        for pid in ids:
            found = records.get(pid)
            if found is None:
                continue
            state = str(found.state)
            latest = found.executions[-1].start if found.executions else None
            ran_after = latest is not None and latest >= self.since[pid]
            if not ran_after:
                if found.state in REPLACEABLE and pid not in self.replace:
                    error = found.last_error if state != "COMPLETED" else None
                    self.tracker.mark(pid, state, error, skipped=True)
                    del self.since[pid]
                continue
            if state in TERMINAL:
                self.tracker.mark(pid, state, found.last_error if state != "COMPLETED" else None)
                del self.since[pid]
                if state == "COMPLETED":
                    self.add(found)


def _poll(
    store: StateStore,
    tracker: RunTracker,
    watched: dict[str, str | None],
    ids: list[str],
    children: _Children,
) -> None:
    """Mark the watched payloads among `ids` that have ended since they were handed over."""
    records = store.get_many(ids)
    for pid in ids:
        found = records.get(pid)
        if found is None or str(found.state) not in TERMINAL:
            continue
        if found.execution_id == watched[pid]:
            continue  # still the record of an earlier run
        state = str(found.state)
        tracker.mark(pid, state, found.last_error if state != "COMPLETED" else None)
        del watched[pid]
        if state == "COMPLETED":
            children.add(found)
