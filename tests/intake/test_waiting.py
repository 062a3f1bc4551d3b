"""Payloads waiting in the intake can be found by payload id (QUEUED), old files migrate."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cirrostratus.intake import IntakeError, SqliteIntakeQueue


def test_waiting_finds_messages_by_payload_id_with_their_receive_count(
    queue: SqliteIntakeQueue,
) -> None:
    queue.send_batch([b"1", b"2", b"3"], payload_ids=["c/workflow-w/a", None, "c/workflow-w/b"])
    assert set(queue.waiting(["c/workflow-w/a", "c/workflow-w/b", "c/workflow-w/x"])) == {
        "c/workflow-w/a",
        "c/workflow-w/b",
    }
    [first] = queue.receive(1)
    found = queue.waiting(["c/workflow-w/a"])["c/workflow-w/a"]
    assert (found.receive_count, found.leased, found.message_id) == (1, True, first.id)
    queue.release(first.receipt, error="boom")
    found = queue.waiting(["c/workflow-w/a"])["c/workflow-w/a"]
    assert (found.leased, found.last_error) == (False, "boom")
    assert queue.waiting_count() == 3
    assert queue.waiting_count("c/workflow-w/") == 2
    assert queue.waiting_count("other/") == 0


def test_handled_and_dead_messages_are_not_waiting(queue: SqliteIntakeQueue) -> None:
    queue.send_batch([b"1", b"2"], payload_ids=["p/workflow-w/done", "p/workflow-w/dead"])
    done, dead = queue.receive(2)
    queue.delete(done.receipt)
    for _ in range(3):  # max_receives=3 in the fixture
        queue.fail(dead.receipt, "broken")
        received = queue.receive(1)
        if not received:
            break
        dead = received[0]
    assert queue.waiting(["p/workflow-w/done", "p/workflow-w/dead"]) == {}
    assert queue.waiting_count() == 0


def test_one_payload_id_per_body(queue: SqliteIntakeQueue) -> None:
    with pytest.raises(IntakeError, match="one payload id"):
        queue.send_batch([b"1", b"2"], payload_ids=["only-one"])


def test_an_intake_db_from_before_payload_ids_migrates(tmp_path: Path) -> None:
    path = tmp_path / "intake.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE schema_version (kind TEXT PRIMARY KEY, version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES ('intake', 1);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY, body BLOB NOT NULL, sent REAL NOT NULL,
            visible_at REAL NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0,
            token TEXT, last_error TEXT, dead_at REAL
        );
        INSERT INTO messages (body, sent, visible_at) VALUES (x'7b7d', 0, 0);
        """
    )
    conn.close()
    with SqliteIntakeQueue(path) as queue:
        assert queue.waiting_count() == 1  # the old message is still there
        queue.send_batch([b"{}"], payload_ids=["c/workflow-w/new"])
        assert list(queue.waiting(["c/workflow-w/new"])) == ["c/workflow-w/new"]
        assert len(queue.receive(5)) == 2
