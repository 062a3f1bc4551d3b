"""The SQLite intake queue: leases, redelivery, receive counts, dead letters, counts."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from cirrostratus.intake import IntakeError, IntakeQueue, SqliteIntakeQueue


def test_is_an_intake_queue(queue: SqliteIntakeQueue) -> None:
    assert isinstance(queue, IntakeQueue)


def test_send_receive_delete(queue: SqliteIntakeQueue) -> None:
    mid = queue.send({"id": "a"})
    ids = queue.send_batch([b"raw", "text"])
    msgs = queue.receive(10)
    assert [m.id for m in msgs] == [mid, *ids]
    assert msgs[0].json() == {"id": "a"}
    assert msgs[1].body == b"raw" and msgs[2].text == "text"
    assert all(m.receive_count == 1 for m in msgs)
    assert queue.receive(10) == []  # all leased
    assert queue.delete(msgs[0].receipt)
    assert queue.delete_batch([m.receipt for m in msgs[1:]]) == 2
    assert queue.counts().to_dict() == {"visible": 0, "in_flight": 0, "delayed": 0, "dead": 0}


def test_receive_respects_max_messages_and_order(queue: SqliteIntakeQueue) -> None:
    queue.send_batch([str(i) for i in range(5)])
    assert [m.text for m in queue.receive(2)] == ["0", "1"]
    assert [m.text for m in queue.receive(10)] == ["2", "3", "4"]


def test_redelivery_after_the_lease(queue: SqliteIntakeQueue, clock) -> None:
    queue.send("p")
    first = queue.receive()[0]
    clock.advance(29)
    assert queue.receive() == []
    clock.advance(1)
    again = queue.receive()[0]
    assert again.id == first.id and again.receive_count == 2
    assert again.receipt != first.receipt
    assert not queue.delete(first.receipt)  # the old lease no longer owns it
    assert queue.delete(again.receipt)


def test_extend_keeps_the_lease(queue: SqliteIntakeQueue, clock) -> None:
    queue.send("p")
    m = queue.receive(visibility_timeout=5)[0]
    clock.advance(4)
    assert queue.extend(m.receipt, 60)
    clock.advance(30)
    assert queue.receive() == []
    assert queue.counts().in_flight == 1
    clock.advance(31)
    assert len(queue.receive()) == 1


def test_dead_letter_after_max_receives(queue: SqliteIntakeQueue, clock) -> None:
    queue.send("poison")
    for n in (1, 2, 3):
        m = queue.receive()[0]
        assert m.receive_count == n
        assert queue.release(m.receipt, error=f"KeyError: try {n}")
    assert queue.receive() == []  # the 4th receive dead-letters it instead
    dead = queue.dead_letters()
    assert len(dead) == 1 and dead[0].text == "poison"
    assert dead[0].error == "KeyError: try 3" and dead[0].receive_count == 3
    assert queue.counts().dead == 1


def test_unreleased_message_dies_with_a_default_reason(queue: SqliteIntakeQueue, clock) -> None:
    queue.send("slow")
    for _ in range(3):
        queue.receive()
        clock.advance(31)
    assert queue.receive() == []
    assert "received 3 times" in (queue.dead_letters()[0].error or "")


def test_fail_dead_letters_on_the_last_receive(queue: SqliteIntakeQueue) -> None:
    queue.send("p")
    for n in (1, 2):
        assert queue.fail(queue.receive()[0].receipt, f"Boom: {n}")
        assert queue.counts().visible == 1  # back at once, no lease wait
    assert queue.fail(queue.receive()[0].receipt, "Boom: 3")
    assert queue.counts().to_dict() == {"visible": 0, "in_flight": 0, "delayed": 0, "dead": 1}
    assert queue.dead_letters()[0].error == "Boom: 3"


def test_release_with_delay(queue: SqliteIntakeQueue, clock) -> None:
    queue.send("p")
    m = queue.receive()[0]
    queue.release(m.receipt, delay=10)
    assert queue.counts().delayed == 1 and queue.receive() == []
    clock.advance(10)
    assert queue.receive()[0].receive_count == 2


def test_send_with_delay(queue: SqliteIntakeQueue, clock) -> None:
    queue.send("later", delay=5)
    assert queue.counts().delayed == 1 and queue.receive() == []
    clock.advance(5)
    assert queue.receive()[0].text == "later"


def test_direct_dead_letter_redrive_and_purge(queue: SqliteIntakeQueue) -> None:
    a = queue.dead_letter({"bad": 1}, "PayloadError: process is required")
    b = queue.dead_letter(b"x", "PayloadError: not JSON")
    assert [d.id for d in queue.dead_letters()] == [a, b]
    assert [d.id for d in queue.dead_letters(after=a)] == [b]
    assert queue.redrive([a]) == 1
    m = queue.receive()[0]
    assert m.id == a and m.receive_count == 1
    assert queue.purge_dead() == 1
    assert queue.redrive() == 0
    assert queue.redrive([]) == 0


def test_bad_receipt_is_explained(queue: SqliteIntakeQueue) -> None:
    with pytest.raises(IntakeError, match="receipt"):
        queue.delete("nonsense")


def _consume(path: str, out: multiprocessing.Queue) -> None:
    q = SqliteIntakeQueue(path)
    got: list[str] = []
    while True:
        batch = q.receive(7)
        if not batch:
            break
        for m in batch:
            got.append(m.text)
            assert q.delete(m.receipt)
    q.close()
    out.put(got)


def test_concurrent_consumers_get_each_message_once(tmp_path: Path) -> None:
    path = str(tmp_path / "intake.db")
    q = SqliteIntakeQueue(path)
    q.send_batch([str(i) for i in range(600)])
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_consume, args=(path, out)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    everything = [x for r in results for x in r]
    assert sorted(everything, key=int) == [str(i) for i in range(600)]
    assert q.counts().to_dict() == {"visible": 0, "in_flight": 0, "delayed": 0, "dead": 0}
    q.close()


def test_one_receive_never_returns_a_message_twice(queue: SqliteIntakeQueue) -> None:
    queue.send_batch(["a", "b", "c"])
    got = queue.receive(10, visibility_timeout=0)
    assert sorted(m.text for m in got) == ["a", "b", "c"]
    assert len(queue.receive(10, visibility_timeout=0)) == 3  # lease 0: visible again at once


def test_dead_lettering_during_receive_still_fills_the_batch(
    queue: SqliteIntakeQueue, clock
) -> None:
    queue.send("old")
    for _ in range(3):
        queue.receive(1, visibility_timeout=1)
        clock.advance(1)
    queue.send_batch(["new1", "new2"])
    got = queue.receive(2)
    assert [m.text for m in got] == ["new1", "new2"]
    assert queue.counts().dead == 1


def test_release_all_gives_back_every_lease_at_once(queue: SqliteIntakeQueue) -> None:
    queue.send_batch([b"a", b"b", b"c"])
    leased = queue.receive(2)
    assert len(leased) == 2
    assert queue.release_all() == 2
    again = queue.receive(10)
    assert sorted(m.body for m in again) == [b"a", b"b", b"c"]
    assert {m.receive_count for m in again if m.body in (b"a", b"b")} == {2}
