"""Opening SQLite files for many processes at once, and retrying when they collide.

WAL lets readers run beside the one writer; `busy_timeout` makes a writer wait for the lock
instead of failing; `synchronous=NORMAL` in WAL mode keeps every commit atomic and durable
across a process crash (an OS crash may lose the last few). A write transaction still
retries `SQLITE_BUSY` itself, because SQLite returns it without waiting in a few cases (e.g.
a checkpoint racing a new writer).
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
RETRIES = 50


def connect(path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are begun explicitly."""
    conn = sqlite3.connect(
        str(path),
        isolation_level=None,
        check_same_thread=False,
        timeout=busy_timeout_ms / 1000,
        cached_statements=256,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def is_damaged(exc: BaseException) -> bool:
    """SQLite's word that a file is not, or no longer, a usable database ("database disk image
    is malformed", "file is not a database"): unlike a full disk or a lock, waiting cannot
    mend it, so whoever meets it stops and says which file to move aside."""
    return type(exc) is sqlite3.DatabaseError


def retry(fn: Callable[[], T], *, retries: int = RETRIES) -> T:
    """Run `fn`, retrying with jittered backoff while SQLite reports the file busy."""
    delay = 0.001
    for attempt in range(retries + 1):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or attempt == retries:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.2)
    raise AssertionError("unreachable")  # pragma: no cover


def write_transaction(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """Run `body` in `BEGIN IMMEDIATE … COMMIT`, whole, retrying it whole when busy.

    IMMEDIATE takes the write lock before the first read, so what `body` reads cannot change
    before it writes: the read-decide-write of a transition is atomic across processes.
    """

    def attempt() -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = body(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    return retry(attempt)
