"""The SQLite schema of the state store and its ordered migrations.

The store creates and upgrades its own file: `schema_version` holds the number of migrations
applied, and each migration runs once, in order, inside the same transaction that bumps the
version, so two processes opening a new file at once cannot both apply one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cirrostratus.state.connection import connect, write_transaction
from cirrostratus.state.model import StateStoreError

#: Append only; never edit a migration that has shipped.
MIGRATIONS: tuple[str, ...] = (
    # 1: records, the transition log, and the write counter used by stable pagination
    """
    CREATE TABLE records (
        payload_id    TEXT PRIMARY KEY,
        collections   TEXT NOT NULL,
        workflow      TEXT NOT NULL,
        itemids       TEXT NOT NULL,
        state         TEXT NOT NULL,
        created       TEXT NOT NULL,
        updated       TEXT NOT NULL,
        state_changed TEXT NOT NULL,
        executions    TEXT NOT NULL DEFAULT '[]',
        outputs       TEXT NOT NULL DEFAULT '[]',
        last_error    TEXT,
        lease_until   TEXT,
        rev           INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX records_cw_updated ON records (collections, workflow, updated, payload_id);
    CREATE INDEX records_state_updated ON records (state, updated, payload_id);
    CREATE INDEX records_updated ON records (updated, payload_id);
    CREATE INDEX records_state_changed ON records (state_changed, payload_id);
    CREATE TABLE events (
        seq          INTEGER PRIMARY KEY,
        time         TEXT NOT NULL,
        payload_id   TEXT NOT NULL,
        from_state   TEXT,
        to_state     TEXT,
        execution_id TEXT,
        error        TEXT
    );
    CREATE INDEX events_time ON events (time);
    CREATE INDEX events_payload ON events (payload_id, seq);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters VALUES ('rev', 0);
    """,
)


def migrate(
    conn: sqlite3.Connection, migrations: tuple[str, ...] = MIGRATIONS, kind: str = "state"
) -> int:
    """Bring the file at `conn` to the newest schema of `kind`; return its version.

    `schema_version` keeps one row per kind, so the intake queue (kind "intake", its own
    migrations) could share a file with the state store without either confusing the other.
    """

    def upgrade(c: sqlite3.Connection) -> int:
        c.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(kind TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        row = c.execute("SELECT version FROM schema_version WHERE kind = ?", (kind,)).fetchone()
        version = int(row[0]) if row else 0
        if row is None:
            c.execute("INSERT INTO schema_version VALUES (?, 0)", (kind,))
        if version > len(migrations):
            raise StateStoreError(
                f"the {kind} database is at schema version {version}, newer than this "
                f"cirrostratus understands ({len(migrations)}); upgrade cirrostratus"
            )
        for number in range(version, len(migrations)):
            for statement in migrations[number].split(";"):
                if statement.strip():
                    c.execute(statement)
            c.execute("UPDATE schema_version SET version = ? WHERE kind = ?", (number + 1, kind))
        return len(migrations)

    return write_transaction(conn, upgrade)


def open_database(
    path: Path, migrations: tuple[str, ...], kind: str, busy_timeout_ms: int
) -> sqlite3.Connection:
    """Create the folder, connect and migrate; any failure names the file and the fix."""
    conn: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path, busy_timeout_ms=busy_timeout_ms)
        migrate(conn, migrations, kind)
        return conn
    except BaseException as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.OperationalError | OSError):
            raise StateStoreError(f"{path}: cannot open the {kind} database ({exc})") from None
        if isinstance(exc, sqlite3.Error):
            raise StateStoreError(
                f"{path}: cannot use the file as the {kind} database ({exc}); it must be a "
                "SQLite file written by cirrostratus - move it aside and a new one is created"
            ) from None
        raise
