"""Group commit: one background thread owns a write connection and batches everyone's writes.

A commit costs far more than a transition (an fsync-sized wait even with synchronous=NORMAL,
plus taking the file lock), so the writer collects whatever is submitted during a few
milliseconds and runs it as one `apply`. Each submission gets a `concurrent.futures.Future`;
asyncio code awaits it with `asyncio.wrap_future(writer.submit(t))`.

Submissions are applied in the order they were made, so `submit(claim)` then
`submit(start)` from one caller always sees the claim first.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from cirrostratus.state.model import Outcome, StateStoreError, Transition, check_transition
from cirrostratus.state.sqlite import SqliteStateStore


@dataclass(slots=True)
class _Op:
    transitions: Sequence[Transition]
    future: Future[list[Outcome]]


_STOP = object()


class GroupCommitWriter:
    """Applies submitted transitions in batches of up to `max_batch`, at most `max_delay` late."""

    def __init__(
        self,
        store: SqliteStateStore,
        *,
        max_delay: float = 0.002,
        max_batch: int = 10_000,
    ) -> None:
        self.store = store
        self.max_delay = max_delay
        self.max_batch = max_batch
        self.commits = 0  # transactions committed (for benchmarks and tests)
        self._queue: queue.SimpleQueue[_Op | object] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="state-writer", daemon=True)
        self._thread.start()

    def submit(self, transition: Transition) -> Future[Outcome]:
        """Queue one transition; the future resolves to its Outcome once committed."""
        inner = self.submit_many([transition])
        outer: Future[Outcome] = Future()

        def done(f: Future[list[Outcome]]) -> None:
            exc = f.exception()
            if exc is not None:
                outer.set_exception(exc)
            else:
                outer.set_result(f.result()[0])

        inner.add_done_callback(done)
        return outer

    def submit_many(self, transitions: Sequence[Transition]) -> Future[list[Outcome]]:
        """Queue transitions to commit together (and with others'); one future for all."""
        for t in transitions:
            check_transition(t)  # a malformed one fails its caller, not the whole batch
        future: Future[list[Outcome]] = Future()
        with self._lock:
            if self._closed:
                raise StateStoreError("the state writer is closed")
            self._queue.put(_Op(list(transitions), future))
        return future

    def close(self) -> None:
        """Commit everything submitted so far, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    def __enter__(self) -> GroupCommitWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            conn = self.store.connect()
        except Exception as exc:  # no connection: fail every submission, never hang one
            while (item := self._queue.get()) is not _STOP:
                assert isinstance(item, _Op)
                item.future.set_exception(exc)
            return
        try:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is _STOP:
                    break
                assert isinstance(first, _Op)
                ops = [first]
                size = len(first.transitions)
                deadline = time.monotonic() + self.max_delay
                while size < self.max_batch:
                    wait = deadline - time.monotonic()
                    try:
                        item = (
                            self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                        )
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stopping = True
                        break
                    assert isinstance(item, _Op)
                    ops.append(item)
                    size += len(item.transitions)
                self._commit(conn, ops)
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, ops: list[_Op]) -> None:
        batch = [t for op in ops for t in op.transitions]
        try:
            outcomes = self.store.apply_on(conn, batch)
        except BaseException as exc:
            for op in ops:
                op.future.set_exception(exc)
            return
        self.commits += 1
        i = 0
        for op in ops:
            n = len(op.transitions)
            op.future.set_result(outcomes[i : i + n])
            i += n
