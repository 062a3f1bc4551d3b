"""A payload's story for its detail page: per-state spans from its event log, and the last
Python traceback its tasks wrote.

Both are pure reshaping of what the stores already hold (events, log records), kept apart
from the backend so the rules (a span ends where the next begins; the traceback is the last
`Traceback (most recent…` block of stderr) read in one place and test without a project.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any


def spans(events: Sequence[Any]) -> list[dict[str, Any]]:
    """One span per transition, oldest first: each ends where the next begins, and the last
    stays open (no end, no seconds) while the record is busy."""
    out = []
    for i, event in enumerate(events):
        end = events[i + 1].time if i + 1 < len(events) else None
        out.append(
            {
                "state": str(event.to_state) if event.to_state else None,
                "from": str(event.from_state) if event.from_state else None,
                "start": event.time,
                "end": end,
                "seconds": _seconds(event.time, end),
                "execution_id": event.execution_id,
                "error": event.error,
            }
        )
    return out


def last_traceback(records: Iterable[dict[str, Any]]) -> str | None:
    """The last Python traceback among one execution's log records (stderr, in time order),
    from its `Traceback (most recent call last)` line to the end; None without one."""
    lines = [
        str(r.get("message", "")).rstrip("\n")
        for r in sorted(records, key=lambda r: str(r.get("time", "")))
        if r.get("stream") == "stderr"
    ]
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    if not starts:
        return None
    return "\n".join(lines[starts[-1] :])


def _seconds(start: str, end: str | None) -> float | None:
    if end is None:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 6)
