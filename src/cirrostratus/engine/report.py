"""What `cirro run` reports: one record per payload, and how the run ends (exit codes).

`RunTracker` builds the report from what the process and update rules say happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cirrostratus.engine.process import ProcessResult
from cirrostratus.engine.update import Finished, UpdateResult
from cirrostratus.state import StateStore

TERMINAL = ("COMPLETED", "FAILED", "INVALID", "ABORTED")
Progress = Callable[[int, int, dict[str, int]], None]


@dataclass
class RunRecord:
    """One payload's outcome in a run (chained payloads get records of their own)."""

    payload_id: str
    workflow: str
    state: str = "QUEUED"
    duration_s: float | None = None
    error: str | None = None
    parent: str | None = None
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["duration_s"] is not None:
            data["duration_s"] = round(data["duration_s"], 4)
        return data


@dataclass
class RunReport:
    """All records of a run, in the order their payloads were first seen."""

    records: dict[str, RunRecord] = field(default_factory=dict)
    wall_s: float = 0.0

    def counts(self) -> Counter[str]:
        return Counter(r.state for r in self.records.values())

    @property
    def ok(self) -> bool:
        return bool(self.records) and all(r.state == "COMPLETED" for r in self.records.values())

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": dict(sorted(self.counts().items())),
            "wall_s": round(self.wall_s, 3),
            "payloads": [r.to_json() for r in self.records.values()],
        }


class RunTracker:
    """Builds the run report from what the process and update rules say."""

    def __init__(self, progress: Progress | None) -> None:
        self.report = RunReport()
        self.progress = progress

    def _record(self, pid: str, workflow: str = "") -> RunRecord:
        rec = self.report.records.get(pid)
        if rec is None:
            if not workflow and "/workflow-" in pid:
                workflow = pid.split("/workflow-", 1)[1].split("/", 1)[0]
            rec = self.report.records[pid] = RunRecord(pid, workflow)
        return rec

    def processed(self, result: ProcessResult, store: StateStore) -> None:
        for pid in result.started:
            rec = self._record(pid)
            rec.state, rec.skipped, rec.error = "PROCESSING", False, None
        for pid in result.failed:
            rec = self._record(pid)
            rec.state, rec.error = "FAILED", result.reasons.get(pid)
        if result.skipped:
            records = store.get_many(result.skipped)
            for pid in result.skipped:
                rec = self._record(pid)
                found = records.get(pid)
                rec.state = str(found.state) if found else "UNKNOWN"
                rec.skipped = True
                rec.error = found.last_error if found and rec.state != "COMPLETED" else None
        for rejected in result.invalid:
            pid = rejected.payload_id or f"(invalid payload #{len(self.report.records) + 1})"
            rec = self._record(pid)
            rec.state, rec.error = "INVALID", rejected.error
        self.tick()

    def settled(self, finished: Finished, result: UpdateResult, took: float) -> None:
        rec = self._record(finished.payload_id)
        if result.applied and result.state is not None:
            rec.state = str(result.state)
            rec.error = result.error
        rec.duration_s = took
        for child in result.next_payloads:
            child_rec = self._record(child)
            child_rec.parent = finished.payload_id
        self.tick()

    def pending(self) -> int:
        return sum(1 for r in self.report.records.values() if r.state not in TERMINAL)

    def tick(self) -> None:
        if self.progress is None:
            return
        records = self.report.records
        done = sum(1 for r in records.values() if r.state in TERMINAL)
        self.progress(done, len(records), dict(self.report.counts()))
