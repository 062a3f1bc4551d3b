"""The store creates and migrates its own schema, and explains files it cannot use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cirrostratus.intake import IntakeError, SqliteIntakeQueue
from cirrostratus.intake.sqlite import MIGRATIONS as INTAKE_MIGRATIONS
from cirrostratus.sqlitedb import connect
from cirrostratus.state import SqliteStateStore, StateStoreError
from cirrostratus.state.schema import MIGRATIONS, migrate


def version(path: Path, kind: str = "state") -> int:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT version FROM schema_version WHERE kind = ?", (kind,))
        return int(row.fetchone()[0])


def test_new_file_gets_every_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.db"
    SqliteStateStore(path).close()
    assert version(path) == len(MIGRATIONS)
    store = SqliteStateStore(path)  # reopening does not re-run (CREATE TABLE would fail)
    store.claim_and_start("c/workflow-w/i", "e")
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StateStoreError, match="upgrade cirrostratus"):
        SqliteStateStore(path)


def test_later_migration_applies_to_an_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)"
    conn = connect(path)
    assert migrate(conn, (*MIGRATIONS, extra)) == len(MIGRATIONS) + 1
    assert migrate(conn, (*MIGRATIONS, extra)) == len(MIGRATIONS) + 1  # once only
    conn.execute("INSERT INTO notes (text) VALUES ('x')")
    conn.close()
    assert version(path) == len(MIGRATIONS) + 1


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_text("hello, I am a text file" * 100)
    with pytest.raises(StateStoreError, match=r"state\.db: cannot use the file .* move it aside"):
        SqliteStateStore(path)
    with pytest.raises(IntakeError, match=r"state\.db"):
        SqliteIntakeQueue(path)


def test_unwritable_folder_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateStoreError, match="cannot open the state database"):
        SqliteStateStore(blocker / "state.db")


def test_state_and_intake_may_share_a_file(tmp_path: Path) -> None:
    path = tmp_path / "all.db"
    store = SqliteStateStore(path)
    queue = SqliteIntakeQueue(path)
    store.claim_and_start("c/workflow-w/i", "e")
    queue.send("x")
    assert queue.receive()[0].text == "x"
    assert version(path, "state") == len(MIGRATIONS) and version(path, "intake") == len(
        INTAKE_MIGRATIONS
    )
    store.close()
    queue.close()


def test_a_state_db_of_schema_1_opens_and_gains_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = connect(path)
    migrate(conn, MIGRATIONS[:1])  # a state.db written before the outbox existed
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO records VALUES ('c/workflow-w/old', 'c', 'w', 'old', 'COMPLETED', "
        "'2026-01-01', '2026-01-01', '2026-01-01', '[]', '[]', NULL, NULL, 1)"
    )
    conn.execute("COMMIT")
    conn.close()
    store = SqliteStateStore(path)
    assert version(path, "state") == len(MIGRATIONS) >= 2
    assert store.get("c/workflow-w/old").state.value == "COMPLETED"
    assert store.outbox() == []
    store.close()
