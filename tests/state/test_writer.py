"""The group-commit writer: batches across callers, keeps order, reports per caller."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cirrostratus.state import (
    GroupCommitWriter,
    SqliteStateStore,
    State,
    StateStoreError,
    Transition,
)


def test_many_threads_share_few_transactions(store: SqliteStateStore) -> None:
    with GroupCommitWriter(store, max_delay=0.005) as writer:

        def work(n: int) -> None:
            for k in range(50):
                pid = f"c/workflow-w/{n}-{k}"
                futures = [
                    writer.submit(Transition.claim(pid, "e")),
                    writer.submit(Transition.start(pid, "e")),
                    writer.submit(Transition.complete(pid, "e", ["u"])),
                ]
                assert [f.result(timeout=10).applied for f in futures] == [True, True, True]

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert writer.commits < 8 * 50 * 3  # submissions were grouped
    assert store.counts()["COMPLETED"] == 400
    assert len(store.events(limit=10_000)) == 1200


def test_submissions_apply_in_order_without_waiting(store: SqliteStateStore) -> None:
    pid = "c/workflow-w/x"
    with GroupCommitWriter(store) as writer:
        f1 = writer.submit(Transition.claim(pid, "e"))
        f2 = writer.submit_many([Transition.start(pid, "e"), Transition.complete(pid, "e")])
        assert f1.result().state is State.CLAIMED
        assert [o.state for o in f2.result()] == [State.PROCESSING, State.COMPLETED]


def test_usable_from_asyncio(store: SqliteStateStore) -> None:
    async def main(writer: GroupCommitWriter) -> list[bool]:
        futures = [
            asyncio.wrap_future(writer.submit(Transition.claim_and_start(f"c/workflow-w/{i}", "e")))
            for i in range(100)
        ]
        return [o.applied for o in await asyncio.gather(*futures)]

    with GroupCommitWriter(store) as writer:
        assert all(asyncio.run(main(writer)))
    assert store.counts()["PROCESSING"] == 100


def test_malformed_submission_fails_only_its_caller(store: SqliteStateStore) -> None:
    with GroupCommitWriter(store) as writer:
        good = writer.submit(Transition.claim("c/workflow-w/ok", "e"))
        with pytest.raises(StateStoreError):
            writer.submit(Transition.claim("no workflow", "e"))
        assert good.result().applied


def test_a_failing_batch_fails_its_futures_and_the_writer_goes_on(store, monkeypatch) -> None:
    real = store.apply_on
    calls = {"n": 0}

    def flaky(conn, transitions):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        return real(conn, transitions)

    monkeypatch.setattr(store, "apply_on", flaky)
    with GroupCommitWriter(store) as writer:
        bad = writer.submit(Transition.claim("c/workflow-w/1", "e"))
        with pytest.raises(OSError, match="disk full"):
            bad.result(timeout=5)
        assert writer.submit(Transition.claim("c/workflow-w/2", "e")).result(timeout=5).applied


def test_close_flushes_and_refuses_more(store: SqliteStateStore) -> None:
    writer = GroupCommitWriter(store, max_delay=0.05)
    futures = [
        writer.submit(Transition.claim_and_start(f"c/workflow-w/{i}", "e")) for i in range(20)
    ]
    writer.close()
    assert all(f.done() and f.result().applied for f in futures)
    with pytest.raises(StateStoreError, match="closed"):
        writer.submit(Transition.claim("c/workflow-w/late", "e"))


def test_a_writer_without_a_connection_fails_submissions(store, monkeypatch) -> None:
    def refuse():
        raise OSError("no file")

    monkeypatch.setattr(store, "connect", refuse)
    writer = GroupCommitWriter(store)
    with pytest.raises(OSError, match="no file"):
        writer.submit(Transition.claim("c/workflow-w/x", "e")).result(timeout=5)
    writer.close()
