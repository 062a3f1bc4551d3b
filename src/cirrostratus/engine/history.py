"""Execution histories (the states each execution visited and their timings), kept per execution in `.cirro/history.db`.

A history is written once, when its execution ends, and read when someone asks where the
time went (`cirro payload state`). One SQLite row per execution, written in the same batches
the update rules settle, costs a fraction of a file per execution (two folders, a file and a
rename each) — measured: it was the largest single cost of a local execution.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.sqlitedb import BUSY_TIMEOUT_MS, open_database, write_transaction

#: Append only; never edit a migration that has shipped.
MIGRATIONS = (
    """
    CREATE TABLE history (
        execution_id TEXT PRIMARY KEY,
        payload_id   TEXT NOT NULL,
        status       TEXT NOT NULL,
        document     BLOB NOT NULL
    );
    CREATE INDEX history_payload ON history (payload_id)
    """,
)


class HistoryStore:
    """Histories by execution id (a document: `{"status", "error", "states": [...]}`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = open_database(self.path, MIGRATIONS, "history", BUSY_TIMEOUT_MS)

    def put_many(self, rows: Sequence[tuple[str, str, str, bytes]]) -> None:
        """Store (payload_id, execution_id, status, document) rows in one transaction."""
        if not rows:
            return
        with self._lock:
            write_transaction(
                self._conn,
                lambda c: c.executemany(
                    "INSERT OR REPLACE INTO history (payload_id, execution_id, status, document)"
                    " VALUES (?, ?, ?, ?)",
                    rows,
                ),
            )

    def get(self, execution_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT document FROM history WHERE execution_id = ?", (execution_id,)
            ).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
