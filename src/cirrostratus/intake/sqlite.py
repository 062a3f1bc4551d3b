"""The default IntakeQueue: one SQLite file (`.cirro/intake.db`) any process may share.

Every operation is one short `BEGIN IMMEDIATE` transaction, so two processes receiving at
once never get the same delivery: a message is leased (its `visible_at` pushed past now and a
fresh receipt written) in the same transaction that selects it.

A receipt is `<message id>.<token>`; the token changes on every delivery, so a receiver whose
lease ran out (and whose message went to someone else) can no longer delete or extend it.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cirrostratus import sqlitedb as connection
from cirrostratus.intake.model import (
    Body,
    DeadLetter,
    IntakeError,
    Message,
    QueueCounts,
    Waiting,
    encode,
)
from cirrostratus.sqlitedb import DatabaseError, open_database


def utcnow() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")

DEFAULT_PATH = Path(".cirro/intake.db")
DEFAULT_VISIBILITY_TIMEOUT = 30.0
DEFAULT_MAX_RECEIVES = 5

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE messages (
        id            INTEGER PRIMARY KEY,
        body          BLOB NOT NULL,
        sent          REAL NOT NULL,
        visible_at    REAL NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        token         TEXT,
        last_error    TEXT,
        dead_at       REAL
    );
    CREATE INDEX messages_ready ON messages (visible_at, id) WHERE dead_at IS NULL;
    CREATE INDEX messages_dead ON messages (id) WHERE dead_at IS NOT NULL;
    """,
    # the payload id a message carries, when the sender knew it: lets `cirro payload state`
    # and `cirro query` show payloads still waiting in the intake (QUEUED)
    """
    ALTER TABLE messages ADD COLUMN payload_id TEXT;
    CREATE INDEX messages_payload ON messages (payload_id) WHERE payload_id IS NOT NULL;
    """,
)


def _split_receipt(receipt: str) -> tuple[int, str]:
    mid, _, token = receipt.partition(".")
    try:
        return int(mid), token
    except ValueError:
        raise IntakeError(
            f"receipt {receipt!r} is not one this queue handed out; "
            "use the receipt of a received message"
        ) from None


class SqliteIntakeQueue:
    """A leased, durable queue with dead letters, safe for concurrent processes.

    `max_receives`: deliveries before a message is dead-lettered (SQS's maxReceiveCount);
    `visibility_timeout`: default lease in seconds; `now`: the clock (tests inject one).
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        now: Callable[[], datetime] = utcnow,
        visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
        max_receives: int = DEFAULT_MAX_RECEIVES,
        busy_timeout_ms: int = connection.BUSY_TIMEOUT_MS,
    ) -> None:
        if max_receives < 1:
            raise IntakeError(f"max_receives={max_receives} must be at least 1")
        self.path = Path(path)
        self.now = now
        self.visibility_timeout = visibility_timeout
        self.max_receives = max_receives
        self._lock = threading.Lock()
        try:
            self._conn = open_database(self.path, MIGRATIONS, "intake", busy_timeout_ms)
        except DatabaseError as exc:
            raise IntakeError(str(exc)) from None

    def _t(self) -> float:
        return self.now().timestamp()

    def _write(self, body: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return connection.write_transaction(self._conn, body)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteIntakeQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending -----------------------------------------------------------------------

    def send(self, body: Body, *, delay: float = 0) -> str:
        return self.send_batch([body], delay=delay)[0]

    def send_batch(
        self,
        bodies: Iterable[Body],
        *,
        delay: float = 0,
        payload_ids: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Enqueue messages in one transaction; returns their ids, in order.

        `payload_ids` (one per body, None where unknown) labels each message with the payload
        it carries, so `waiting` can find it before it is processed.
        """
        encoded = [encode(b) for b in bodies]
        if not encoded:
            return []
        labels = list(payload_ids) if payload_ids is not None else [None] * len(encoded)
        if len(labels) != len(encoded):
            raise IntakeError(
                f"send_batch got {len(encoded)} bodies but {len(labels)} payload ids; "
                "give one payload id (or None) per body"
            )
        now = self._t()

        def insert(c: sqlite3.Connection) -> list[str]:
            ids = []
            for data, label in zip(encoded, labels, strict=True):
                cur = c.execute(
                    "INSERT INTO messages (body, sent, visible_at, payload_id) VALUES (?, ?, ?, ?)",
                    (data, now, now + delay, label),
                )
                ids.append(str(cur.lastrowid))
            return ids

        return self._write(insert)

    def dead_letter(self, body: Body, error: str) -> str:
        """Put a message straight into the dead letters (e.g. a payload that can never run)."""
        data = encode(body)
        now = self._t()

        def insert(c: sqlite3.Connection) -> str:
            cur = c.execute(
                "INSERT INTO messages (body, sent, visible_at, last_error, dead_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (data, now, now, error, now),
            )
            return str(cur.lastrowid)

        return self._write(insert)

    # --- receiving ---------------------------------------------------------------------

    def receive(
        self, max_messages: int = 10, *, visibility_timeout: float | None = None
    ) -> list[Message]:
        """Lease up to `max_messages` visible messages, oldest first.

        A message already delivered `max_receives` times is moved to the dead letters instead
        of being delivered again (as SQS does with a redrive policy).
        """
        lease = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        now = self._t()

        def take(c: sqlite3.Connection) -> list[Message]:
            out: list[Message] = []
            while len(out) < max_messages:
                rows = c.execute(
                    "SELECT id, body, receive_count, sent FROM messages "
                    "WHERE dead_at IS NULL AND visible_at <= ? ORDER BY visible_at, id LIMIT ?",
                    (now, max_messages - len(out)),
                ).fetchall()
                if not rows:
                    break
                dead = [(now, r[0]) for r in rows if r[2] >= self.max_receives]
                if dead:
                    c.executemany(
                        "UPDATE messages SET dead_at = ?, token = NULL, last_error = "
                        "coalesce(last_error, 'received ' || receive_count || "
                        "' times without being deleted') WHERE id = ?",
                        dead,
                    )
                leased = []
                for mid, body, count, sent in rows:
                    if count >= self.max_receives:
                        continue
                    token = secrets.token_hex(8)
                    leased.append((now + lease, token, mid))
                    out.append(Message(str(mid), bytes(body), count + 1, f"{mid}.{token}", sent))
                c.executemany(
                    "UPDATE messages SET visible_at = ?, token = ?, "
                    "receive_count = receive_count + 1 WHERE id = ?",
                    leased,
                )
                if not dead:  # look again only to replace what was dead-lettered
                    break
            return out

        return self._write(take)

    def _by_receipt(self, receipt: str, sql: str, params: tuple[Any, ...]) -> bool:
        mid, token = _split_receipt(receipt)

        def run(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                f"{sql} WHERE id = ? AND token = ? AND dead_at IS NULL", (*params, mid, token)
            )
            return cur.rowcount > 0

        return self._write(run)

    def delete(self, receipt: str) -> bool:
        """Acknowledge a delivery. False when the lease had passed to another delivery."""
        return self._by_receipt(receipt, "DELETE FROM messages", ())

    def delete_batch(self, receipts: Sequence[str]) -> int:
        keys = [_split_receipt(r) for r in receipts]

        def run(c: sqlite3.Connection) -> int:
            n = 0
            for mid, token in keys:
                cur = c.execute(
                    "DELETE FROM messages WHERE id = ? AND token = ? AND dead_at IS NULL",
                    (mid, token),
                )
                n += cur.rowcount
            return n

        return self._write(run)

    def extend(self, receipt: str, seconds: float) -> bool:
        """Keep a delivery leased for `seconds` from now (SQS's ChangeMessageVisibility)."""
        return self._by_receipt(
            receipt, "UPDATE messages SET visible_at = ?", (self._t() + seconds,)
        )

    def release(self, receipt: str, *, error: str | None = None, delay: float = 0) -> bool:
        """Give a delivery back: visible again after `delay`, keeping `error` if given."""
        return self._by_receipt(
            receipt,
            "UPDATE messages SET visible_at = ?, token = NULL, "
            "last_error = coalesce(?, last_error)",
            (self._t() + delay, error),
        )

    def release_all(self) -> int:
        """Give back every leased delivery at once; return how many.

        For an engine that knows it is the only consumer (it holds the project's engine
        lock): what is leased when it starts was leased by a consumer that died, and need
        not wait out its lease.
        """
        now = self._t()
        return self._write(
            lambda c: (
                c.execute(
                    "UPDATE messages SET visible_at = ?, token = NULL "
                    "WHERE dead_at IS NULL AND token IS NOT NULL AND visible_at > ?",
                    (now, now),
                ).rowcount
            )
        )

    def fail(self, receipt: str, error: str) -> bool:
        """This delivery failed: dead-letter it if it has used up its receives, else release."""
        mid, token = _split_receipt(receipt)
        now = self._t()

        def run(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "UPDATE messages SET token = NULL, last_error = ?, visible_at = ?, "
                "dead_at = CASE WHEN receive_count >= ? THEN ? ELSE NULL END "
                "WHERE id = ? AND token = ? AND dead_at IS NULL",
                (error, now, self.max_receives, now, mid, token),
            )
            return cur.rowcount > 0

        return self._write(run)

    # --- dead letters and counts ---------------------------------------------------------

    def dead_letters(self, *, limit: int = 100, after: str | None = None) -> list[DeadLetter]:
        """Dead letters in id order; page with `after=<last id>`."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, body, receive_count, last_error, sent, dead_at FROM messages "
                "WHERE dead_at IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
                (int(after or 0), limit),
            ).fetchall()
        return [DeadLetter(str(r[0]), bytes(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def _dead_ids(self, ids: Iterable[str] | None) -> tuple[str, list[Any]]:
        if ids is None:
            return "dead_at IS NOT NULL", []
        keys = [int(i) for i in ids]
        return f"dead_at IS NOT NULL AND id IN ({','.join('?' * len(keys))})", list(keys)

    def redrive(self, ids: Iterable[str] | None = None) -> int:
        """Make dead letters (all, or those `ids`) visible again with a fresh receive count."""
        where, params = self._dead_ids(ids)
        if params == [] and ids is not None:
            return 0
        now = self._t()
        return self._write(
            lambda c: (
                c.execute(
                    "UPDATE messages SET dead_at = NULL, receive_count = 0, token = NULL, "
                    f"visible_at = ? WHERE {where}",
                    (now, *params),
                ).rowcount
            )
        )

    def purge_dead(self, ids: Iterable[str] | None = None) -> int:
        """Forget dead letters (all, or those `ids`)."""
        where, params = self._dead_ids(ids)
        if params == [] and ids is not None:
            return 0
        return self._write(
            lambda c: c.execute(f"DELETE FROM messages WHERE {where}", params).rowcount
        )

    def waiting(self, payload_ids: Iterable[str]) -> dict[str, Waiting]:
        """The messages not yet handled (not dead) that carry these payload ids, by payload id
        (the oldest when several carry one). Only messages sent with a payload id are found."""
        keys = list(dict.fromkeys(payload_ids))
        found: dict[str, Waiting] = {}
        now = self._t()
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                rows = self._conn.execute(
                    "SELECT payload_id, id, receive_count, sent, visible_at, token, last_error "
                    f"FROM messages WHERE payload_id IN ({','.join('?' * len(chunk))}) "
                    "AND dead_at IS NULL ORDER BY id",
                    chunk,
                ).fetchall()
                for pid, mid, count, sent, visible_at, token, error in rows:
                    if pid in found:
                        continue
                    leased = token is not None and visible_at > now
                    found[pid] = Waiting(str(mid), pid, count, sent, leased, error)
        return found

    def waiting_count(self, payload_id_prefix: str | None = None) -> int:
        """How many messages wait to be handled (not dead); with a prefix, only those whose
        payload id starts with it (messages sent without a payload id are then not counted)."""
        with self._lock:
            if payload_id_prefix is None:
                row = self._conn.execute(
                    "SELECT count(*) FROM messages WHERE dead_at IS NULL"
                ).fetchone()
            else:
                row = self._conn.execute(
                    "SELECT count(*) FROM messages WHERE dead_at IS NULL "
                    "AND substr(payload_id, 1, ?) = ?",
                    (len(payload_id_prefix), payload_id_prefix),
                ).fetchone()
        return int(row[0])

    def counts(self) -> QueueCounts:
        now = self._t()
        with self._lock:
            row = self._conn.execute(
                "SELECT "
                "count(*) FILTER (WHERE dead_at IS NULL AND visible_at <= ?), "
                "count(*) FILTER (WHERE dead_at IS NULL AND visible_at > ? AND token IS NOT NULL), "
                "count(*) FILTER (WHERE dead_at IS NULL AND visible_at > ? AND token IS NULL), "
                "count(*) FILTER (WHERE dead_at IS NOT NULL) FROM messages",
                (now, now, now),
            ).fetchone()
        return QueueCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))
