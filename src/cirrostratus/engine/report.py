"""What `cirro run` reports: one record per payload, and how the run ends (exit codes)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

TERMINAL = ("COMPLETED", "FAILED", "INVALID", "ABORTED")


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
    started_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("started_at")
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
