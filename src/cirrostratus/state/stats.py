"""Time-binned transition counts from the event log, in the shape of Cirrus's `/stats`.

Each bin lists every state, zero-filled, with `count` (transitions into that state) and
`unique_count` (distinct payload ids that made them), as Cirrus's Timestream queries did.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cirrostratus.state.model import STATES, iso

Interval = Literal["day", "hour"]


def _floor(t: datetime, interval: Interval) -> datetime:
    t = t.astimezone(UTC)
    if interval == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(minute=0, second=0, microsecond=0)


def _period(t: datetime, interval: Interval) -> str:
    return t.strftime("%Y-%m-%d") if interval == "day" else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def transition_counts(
    conn: sqlite3.Connection, interval: Interval, bins: int, now: datetime
) -> list[dict[str, Any]]:
    """The last `bins` whole days or hours up to and including the current one, oldest first."""
    step = timedelta(days=1) if interval == "day" else timedelta(hours=1)
    last = _floor(now, interval)
    first = last - step * (bins - 1)
    width = 10 if interval == "day" else 13  # "YYYY-MM-DD" / "YYYY-MM-DDTHH"
    rows = conn.execute(
        f"SELECT substr(time, 1, {width}) AS bin, to_state, count(*), "
        "count(DISTINCT payload_id) FROM events "
        "WHERE time >= ? AND to_state IS NOT NULL GROUP BY bin, to_state",
        (iso(first),),
    ).fetchall()
    found: dict[tuple[str, str], tuple[int, int]] = {
        (str(b), str(s)): (int(c), int(u)) for b, s, c, u in rows
    }
    out: list[dict[str, Any]] = []
    for i in range(bins):
        start = first + step * i
        key = iso(start)[:width]
        states = []
        for state in STATES:
            count, unique = found.get((key, str(state)), (0, 0))
            states.append({"state": str(state), "unique_count": unique, "count": count})
        out.append({"period": _period(start, interval), "interval": interval, "states": states})
    return out


def state_transitions(conn: sqlite3.Connection, now: datetime) -> dict[str, Any]:
    """`{"state_transitions": {"daily", "hourly", "hourly_rolling"}}` as Cirrus's /stats.

    daily: 60 days; hourly: 36 hours; hourly_rolling: the current hour and the one before.
    """
    hourly = transition_counts(conn, "hour", 36, now)
    return {
        "state_transitions": {
            "daily": transition_counts(conn, "day", 60, now),
            "hourly": hourly,
            "hourly_rolling": hourly[-2:],
        }
    }
