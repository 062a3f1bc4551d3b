"""Peak memory of local lambda workers, kept for `cirro show tasks --fit`.

Lambda reports "Max Memory Used" per container; locally a warm worker is the container. Before
the pool stops a worker it reads the worker's high-water mark (`VmHWM` in /proc, exact, not
sampled) and keeps the largest per function; on close it merges them (maximum) into
`<logs>/lambda/peak-memory.json`: `{function: {"peak_mb": float, "updated": iso}}`.
Linux only: elsewhere nothing is recorded and --fit says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILE = "peak-memory.json"


def high_water_mb(pid: int) -> float | None:
    """The process's peak resident memory so far, in MB; None when unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakMemory:
    """The largest high-water mark seen per function, saved on `save()`."""

    def __init__(self, logs_dir: Path | None) -> None:
        self.path = None if logs_dir is None else Path(logs_dir) / "lambda" / FILE
        self.peaks: dict[str, float] = {}

    def note(self, function: str, pid: int) -> None:
        if self.path is None or not pid:
            return
        used = high_water_mb(pid)
        if used is not None and used > self.peaks.get(function, 0.0):
            self.peaks[function] = used

    def note_all(self, workers: Iterable[Any]) -> None:
        for worker in workers:
            self.note(worker.fp.spec.name, worker.pid)

    def save(self) -> None:
        if self.path is None or not self.peaks:
            return
        known = read_peaks(self.path.parent.parent)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for function, used in self.peaks.items():
            if used >= known.get(function, {}).get("peak_mb", 0.0):
                known[function] = {"peak_mb": round(used, 1), "updated": now}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_suffix(f".{os.getpid()}.tmp")
            scratch.write_text(json.dumps(known, indent=1, sort_keys=True), encoding="utf-8")
            scratch.replace(self.path)
        except OSError:
            return  # a measurement, never a reason to fail a run
        self.peaks.clear()


def read_peaks(logs_dir: Path) -> dict[str, dict[str, Any]]:
    """What local runs recorded: function → {"peak_mb", "updated"}."""
    try:
        data = json.loads((Path(logs_dir) / "lambda" / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
