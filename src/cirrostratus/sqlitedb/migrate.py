"""Ordered, append-only schema migrations for the project's SQLite files.

`schema_version` holds, per kind of database, the number of migrations applied; each
migration runs once, in order, inside the transaction that bumps the version, so two
processes opening a new file at once cannot both apply one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cirrostratus.sqlitedb.connection import connect, write_transaction


class DatabaseError(Exception):
    """A database file that cannot be opened, migrated or used; the message names it."""


def statements(script: str) -> list[str]:
    """The statements of a migration, split at the `;` that end them — not at those inside a
    trigger's BEGIN … END (SQLite's own `complete_statement` tells them apart)."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                found.append(pending)
            pending = ""
    if pending.strip(" \n\t;"):
        found.append(pending)
    return found


def migrate(conn: sqlite3.Connection, migrations: tuple[str, ...], kind: str) -> int:
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
            raise DatabaseError(
                f"the {kind} database is at schema version {version}, newer than this "
                f"cirrostratus understands ({len(migrations)}); upgrade cirrostratus"
            )
        for number in range(version, len(migrations)):
            for statement in statements(migrations[number]):
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
            raise DatabaseError(f"{path}: cannot open the {kind} database ({exc})") from None
        if isinstance(exc, sqlite3.Error):
            raise DatabaseError(
                f"{path}: cannot use the file as the {kind} database ({exc}); it must be a "
                "SQLite file written by cirrostratus - move it aside and a new one is created"
            ) from None
        raise
