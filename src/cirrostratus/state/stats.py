"""Time-binned transition counts from the event log, in the shape of Cirrus's `/stats`.

Each bin lists every state, zero-filled, with `count` (transitions into that state) and
`unique_count` (distinct payload ids that made them), as Cirrus's Timestream queries did.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from cirrostratus.state.model import STATES, iso

Interval = Literal["day", "hour"]
Found = dict[str, tuple[int, int]]  # state -> (count, unique_count)


def _floor(t: datetime, interval: Interval) -> datetime:
    t = t.astimezone(UTC)
    if interval == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(minute=0, second=0, microsecond=0)


def _bin(start: datetime, interval: Interval, found: Found) -> dict[str, Any]:
    period = start.strftime("%Y-%m-%d" if interval == "day" else "%Y-%m-%dT%H:%M:%SZ")
    states = []
    for state in STATES:
        count, unique = found.get(str(state), (0, 0))
        states.append({"state": str(state), "unique_count": unique, "count": count})
    return {"period": period, "interval": interval, "states": states}


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
    by_bin: dict[str, Found] = {}
    for b, state, count, unique in rows:
        by_bin.setdefault(str(b), {})[str(state)] = (int(count), int(unique))
    starts = [first + step * i for i in range(bins)]
    return [_bin(s, interval, by_bin.get(iso(s)[:width], {})) for s in starts]


def rolling_hours(conn: sqlite3.Connection, now: datetime) -> list[dict[str, Any]]:
    """Two rolling windows: the hour before the last hour, then the last hour (up to now)."""
    now = now.astimezone(UTC)
    edges = [now - timedelta(hours=2), now - timedelta(hours=1), now + timedelta(microseconds=1)]
    out = []
    for start, end in pairwise(edges):
        rows = conn.execute(
            "SELECT to_state, count(*), count(DISTINCT payload_id) FROM events "
            "WHERE time >= ? AND time < ? AND to_state IS NOT NULL GROUP BY to_state",
            (iso(start), iso(end)),
        ).fetchall()
        out.append(_bin(start, "hour", {str(s): (int(c), int(u)) for s, c, u in rows}))
    return out


def state_transitions(conn: sqlite3.Connection, now: datetime) -> dict[str, Any]:
    """`{"state_transitions": {"daily", "hourly", "hourly_rolling"}}` as Cirrus's /stats.

    daily (60 days) and hourly (36 hours) are whole calendar bins up to the current one;
    hourly_rolling is the last hour before `now` and the hour before that.
    """
    return {
        "state_transitions": {
            "daily": transition_counts(conn, "day", 60, now),
            "hourly": transition_counts(conn, "hour", 36, now),
            "hourly_rolling": rolling_hours(conn, now),
        }
    }
