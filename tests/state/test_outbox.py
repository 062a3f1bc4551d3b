"""The outbox: follows are written by the transaction that applies their transition, or not at all."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from cirrostratus.state import INTAKE, NOTIFY, Follow, SqliteStateStore, Transition

PID = "c/workflow-w/item"


@pytest.fixture
def store(tmp_path: Path) -> SqliteStateStore:
    s = SqliteStateStore(tmp_path / "state.db")
    yield s
    s.close()


def with_follows(t: Transition, *follows: Follow) -> Transition:
    from dataclasses import replace

    return replace(t, follow=follows)


def test_follows_are_written_with_an_applied_transition(store: SqliteStateStore) -> None:
    store.claim_and_start(PID, "e1")
    chained = Follow(INTAKE, b'{"next": 1}')
    note = Follow(NOTIFY, b'{"message": {"id": "i"}, "attributes": {}}', "published")
    [outcome] = store.apply([with_follows(Transition.complete(PID, "e1"), chained, note)])
    assert outcome.applied
    rows = store.outbox()
    assert [(r.payload_id, r.kind, r.topic, r.body) for r in rows] == [
        (PID, INTAKE, "", b'{"next": 1}'),
        (PID, NOTIFY, "published", b'{"message": {"id": "i"}, "attributes": {}}'),
    ]
    assert store.outbox_done([r.seq for r in rows]) == 2
    assert store.outbox() == []


def test_a_refused_transition_writes_no_follows(store: SqliteStateStore) -> None:
    store.claim_and_start(PID, "e2")
    late = with_follows(Transition.complete(PID, "e1"), Follow(INTAKE, b"x"))
    [outcome] = store.apply([late])
    assert not outcome.applied and store.outbox() == []


def test_follows_roll_back_with_their_transaction(store: SqliteStateStore) -> None:
    store.claim_and_start(PID, "e1")
    store._writer.execute(  # a constraint that fails the batch after the outbox insert
        "CREATE TRIGGER boom AFTER INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        store.apply([with_follows(Transition.complete(PID, "e1"), Follow(INTAKE, b"x"))])
    assert store.get(PID).state.value == "PROCESSING" and store.outbox() == []


def test_a_record_notification_carries_the_record_as_committed(store: SqliteStateStore) -> None:
    store.claim_and_start(PID, "e1")
    body = orjson.dumps({"message": {}, "attributes": {"error": "E: m"}})
    note = Follow(NOTIFY, body, "failed", record=True)
    store.apply([with_follows(Transition.fail(PID, "E: m", "e1"), note)])
    [row] = store.outbox()
    sent = orjson.loads(row.body)
    assert sent["message"] == store.get(PID).to_dict()
    assert sent["message"]["state"] == "FAILED" and sent["message"]["last_error"] == "E: m"
    assert sent["attributes"] == {"error": "E: m", "collections": "c", "workflow": "w"}


def test_an_abort_may_say_why(store: SqliteStateStore) -> None:
    store.claim_and_start(PID, "e1")
    store.apply([Transition.abort(PID, "e1", "EngineStopped: gone")])
    assert store.get(PID).last_error == "EngineStopped: gone"
    assert store.events(PID)[-1].error == "EngineStopped: gone"
