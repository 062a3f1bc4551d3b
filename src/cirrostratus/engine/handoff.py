"""`cirro run` while `cirro serve` runs the project: hand the payloads over and watch them.

Only one engine runs a project at a time (see `lock`), so a second `cirro run` does not start
executions itself: it queues its payloads for the serving engine and follows their records
in the state database until each has ended, reporting them as a run of its own would.
Payloads they chain to run too, but are not followed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cirrostratus.engine.report import TERMINAL, Progress, RunRecord, RunReport
from cirrostratus.payload import Payload, PayloadError
from cirrostratus.state import REPLACEABLE, StateStore

POLL_S = 0.2


def hand_over(
    engine: Any,
    payloads: list[dict[str, Any]],
    *,
    replace: bool = False,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunReport:
    """Submit `payloads` to the engine serving the project and wait for each to end."""
    began = time.monotonic()
    report = RunReport()
    store: StateStore = engine.store
    to_send: list[dict[str, Any]] = []
    watched: dict[str, str | None] = {}  # payload id → the execution it had before
    parsed: list[Payload] = []
    for raw in payloads:
        try:
            payload = Payload.from_dict(raw)
        except PayloadError as exc:
            rec = RunRecord(f"(invalid payload #{len(report.records) + 1})", "", "INVALID")
            rec.error = f"PayloadError: {exc}"
            report.records[rec.payload_id] = rec
            continue
        parsed.append(payload)
    before = store.get_many([p.id for p in parsed])
    for payload in parsed:
        if payload.id in report.records:
            continue  # the same payload twice: the intake would drop the second
        rec = report.records[payload.id] = RunRecord(payload.id, payload.workflow)
        found = before.get(payload.id)
        if found is not None and found.state in REPLACEABLE and not (replace or payload.replace):
            rec.state, rec.skipped = str(found.state), True
            rec.error = found.last_error if rec.state != "COMPLETED" else None
            continue
        watched[payload.id] = found.execution_id if found is not None else None
        to_send.append(payload.to_dict())
    if to_send:
        engine.submit(to_send, replace=replace)
    while True:
        records = store.get_many(list(watched))
        for pid, old_execution in list(watched.items()):
            found = records.get(pid)
            if found is None or str(found.state) not in TERMINAL:
                continue
            if found.execution_id == old_execution:
                continue  # still the record of an earlier run
            rec = report.records[pid]
            rec.state = str(found.state)
            rec.error = found.last_error if rec.state != "COMPLETED" else None
            del watched[pid]
        if progress is not None:
            done = sum(1 for r in report.records.values() if r.state in TERMINAL)
            progress(done, len(report.records), dict(report.counts()))
        if not watched:
            break
        sleep(POLL_S)
    report.wall_s = time.monotonic() - began
    return report
