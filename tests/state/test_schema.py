"""The store creates and migrates its own schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cirrostratus.state import SqliteStateStore, StateStoreError
from cirrostratus.state.schema import MIGRATIONS


def version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])


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


def test_later_migration_applies_to_an_old_file(tmp_path: Path, monkeypatch) -> None:
    from cirrostratus.state import schema

    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)"
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS, extra))
    monkeypatch.setattr(schema.migrate, "__defaults__", (schema.MIGRATIONS,))
    SqliteStateStore(path).close()
    assert version(path) == len(MIGRATIONS) + 1
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO notes (text) VALUES ('x')")
