"""Execution histories (the states each execution visited and their timings), kept per execution in `.cirro/history.db`.

A history is written once, when its execution ends, and read when someone asks where the
time went (`cirro payload state`). One SQLite row per execution, written in the same batches
the update rules settle, costs a fraction of a file per execution (two folders, a file and a
rename each) — measured: it was the largest single cost of a local execution.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    execution_id TEXT PRIMARY KEY,
    payload_id   TEXT NOT NULL,
    status       TEXT NOT NULL,
    document     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS history_payload ON history (payload_id);
"""


class HistoryStore:
    """Histories by execution id (a document: `{"status", "error", "states": [...]}`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(SCHEMA)

    def put_many(self, rows: Sequence[tuple[str, str, str, bytes]]) -> None:
        """Store (payload_id, execution_id, status, document) rows in one transaction."""
        if not rows:
            return
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO history (payload_id, execution_id, status, document)"
                    " VALUES (?, ?, ?, ?)",
                    rows,
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def get(self, execution_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT document FROM history WHERE execution_id = ?", (execution_id,)
            ).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
