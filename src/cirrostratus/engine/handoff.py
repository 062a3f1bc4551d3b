"""`cirro run` while another engine runs the project: hand the payloads over and watch them.

Only one engine runs a project at a time (see `lock`), so a second `cirro run` does not start
executions itself: it queues its payloads for the engine holding the project and follows
their records in the state database until each has ended, reporting them as a run of its own
would. When that engine stops first — another `cirro run` that has finished its own payloads —
this one takes the project over and runs what is still queued itself (`LocalEngine.take_over`),
so it never waits on an engine that is gone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from cirrostratus.engine.lock import EngineBusy
from cirrostratus.engine.report import TERMINAL, Progress, RunReport, RunTracker
from cirrostratus.payload import Payload, PayloadError
from cirrostratus.state import REPLACEABLE, StateStore

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
            _poll(store, tracker, watched, list(islice(watched, start, start + POLL_BATCH)))

    while watched:
        _poll(store, tracker, watched, list(islice(watched, POLL_BATCH)))
        tracker.tick()
        if not watched:
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


def _poll(
    store: StateStore, tracker: RunTracker, watched: dict[str, str | None], ids: list[str]
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
