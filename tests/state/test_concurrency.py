"""Several processes (and threads) writing one state file: every write lands exactly once,
and a walk of pages neither repeats nor skips while others write."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from pathlib import Path

import pytest

from cirrostratus.state import SqliteStateStore, State

ROUNDS = 150
WORKERS = 4


def _worker(path: str, worker: int, results: multiprocessing.Queue) -> None:
    store = SqliteStateStore(path)
    won = 0
    for k in range(ROUNDS):
        own = f"c/workflow-w/own-{worker}-{k}"
        ex = f"{worker}-{k}"
        assert store.claim(own, ex).applied
        assert store.start(own, ex).applied
        assert store.complete(own, ex, [f"file:///{own}"]).applied
        shared = f"c/workflow-w/shared-{k}"
        if store.claim_and_start(shared, ex).applied:
            won += 1
            assert store.complete(shared, ex).applied
    store.close()
    results.put(won)


def test_concurrent_writer_processes_land_every_write_exactly_once(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    SqliteStateStore(path).close()  # create the schema once up front
    ctx = multiprocessing.get_context("fork")
    results: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(path, w, results)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    wins = [results.get(timeout=5) for _ in procs]
    assert sum(wins) == ROUNDS  # every shared payload was claimed by exactly one process

    store = SqliteStateStore(path)
    assert store.counts()["COMPLETED"] == WORKERS * ROUNDS + ROUNDS
    events = store.events(limit=10**6)
    own_events = [e for e in events if "/own-" in e.payload_id]
    shared_events = [e for e in events if "/shared-" in e.payload_id]
    assert len(own_events) == 3 * WORKERS * ROUNDS
    assert len(shared_events) == 2 * ROUNDS
    by_id: dict[str, list[State | None]] = {}
    for e in events:
        by_id.setdefault(e.payload_id, []).append(e.to_state)
    assert all(states[-1] is State.COMPLETED for states in by_id.values())
    store.close()


def test_pages_under_concurrent_writes_never_repeat_or_skip(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    reader = SqliteStateStore(path)
    initial = [f"c/workflow-w/{i:04d}" for i in range(300)]
    for i in range(0, 300, 50):
        reader.apply(
            [t for pid in initial[i : i + 50] for t in _run(pid)]  # COMPLETED records
        )

    touched: set[str] = set()
    created: set[str] = set()
    stop = threading.Event()
    started = threading.Event()

    def write() -> None:
        writer = SqliteStateStore(path)
        rng = random.Random(7)
        n = 0
        started.wait()
        while not stop.is_set():
            pid = rng.choice(initial)
            touched.add(pid)  # before the write: touched is a superset of what changed
            writer.fail(pid, f"Err: {n}")
            new = f"c/workflow-w/new-{n:05d}"
            created.add(new)
            writer.claim_and_start(new, "e")
            n += 1
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for ascending in (False, True):
            seen: list[str] = []
            page = reader.query(limit=7, ascending=ascending)
            started.set()
            known_at_first_page = set(created)  # a superset of what the first page could see
            while True:
                seen += [r.payload_id for r in page.items]
                if page.nextkey is None:
                    break
                time.sleep(0.002)  # let the writer in between pages
                page = reader.query(limit=7, ascending=ascending, nextkey=page.nextkey)
            assert len(seen) == len(set(seen)), "a record was listed twice"
            late = set(created) - known_at_first_page
            assert not set(seen) & late, "a record created during the walk was listed"
            untouched = set(initial) - touched
            assert untouched <= set(seen), "a record unchanged during the walk was skipped"
    finally:
        stop.set()
        thread.join()
    assert len(created) > 50  # the writer really ran during the walks
    reader.close()


def _run(pid: str):
    from cirrostratus.state import Transition

    return [Transition.claim_and_start(pid, "e0"), Transition.complete(pid, "e0")]


def _batch_worker(path: str, worker: int, rounds: int) -> None:
    from cirrostratus.state import Transition

    store = SqliteStateStore(path)
    for r in range(rounds):
        ids = [f"c/workflow-w/soak-{worker}-{r}-{k}" for k in range(20)]
        outcomes = store.apply(
            [t for pid in ids for t in _run(pid)]
            + [Transition.claim_and_start(f"c/workflow-w/hot-{r % 7}", f"{worker}-{r}")]
        )
        assert all(o.applied for o in outcomes[:-1])
    store.close()


@pytest.mark.soak
def test_soak_many_batched_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    SqliteStateStore(path).close()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_batch_worker, args=(path, w, 300)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
        assert p.exitcode == 0
    store = SqliteStateStore(path)
    assert store.counts()["COMPLETED"] == 6 * 300 * 20
    assert len(store.events(limit=10**7)) == 6 * 300 * 20 * 2 + 7
    store.close()
