"""Plain SQL over a local project's SQLite stores, for what the StateStore protocol has no
method for: the distinct (collections, workflow) pairs, the last event's sequence number,
recent transitions per state and per-state task timings.

These are the dashboard's and `/metrics`' reads. They are cheap on SQLite (an index skip, an
aggregate over the events' time index) and have no DynamoDB equivalent, so they stay out of
the protocol: the deployment backend answers the same questions its own way.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import orjson

from cirrostratus.state import iso, utcnow


def pairs(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every (collections, workflow) with records, by skipping along the index: one
    O(log n) step per pair, so a million records cost what a dozen do."""
    found = []
    row = conn.execute(
        "SELECT collections, workflow FROM records ORDER BY collections, workflow LIMIT 1"
    ).fetchone()
    while row is not None:
        found.append((str(row[0]), str(row[1])))
        row = conn.execute(
            "SELECT collections, workflow FROM records WHERE (collections, workflow) > (?, ?)"
            " ORDER BY collections, workflow LIMIT 1",
            row,
        ).fetchone()
    return found


def last_event_seq(conn: sqlite3.Connection) -> int:
    """The newest event's sequence number (0 with none): where a live `/events` starts."""
    row = conn.execute("SELECT max(seq) FROM events").fetchone()
    return int(row[0] or 0)


def transitions_since(conn: sqlite3.Connection, seconds: float) -> dict[str, int]:
    """Transitions into each state during the last `seconds` (the events' time index)."""
    since = iso(utcnow() - timedelta(seconds=seconds))
    rows = conn.execute(
        "SELECT to_state, count(*) FROM events WHERE time >= ? AND to_state IS NOT NULL "
        "GROUP BY to_state",
        (since,),
    )
    return {str(s): int(n) for s, n in rows}


def task_durations(history: str | Path, recent: int = 1000) -> dict[str, tuple[int, float, float]]:
    """Per state name over the last `recent` executions of the history database at
    `history`: (count, total s, max s). Opened read-only: the engine is its only writer."""
    conn = sqlite3.connect(f"file:{history}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT document FROM history ORDER BY rowid DESC LIMIT ?", (recent,)
        ).fetchall()
    except sqlite3.OperationalError:
        rows = []
    finally:
        conn.close()
    out: dict[str, tuple[int, float, float]] = {}
    for (doc,) in rows:
        for s in orjson.loads(doc).get("states", []):
            if s.get("type") != "Task" or s.get("seconds") is None:
                continue
            n, total, most = out.get(s["state"], (0, 0.0, 0.0))
            sec = float(s["seconds"])
            out[s["state"]] = (n + 1, total + sec, max(most, sec))
    return out
