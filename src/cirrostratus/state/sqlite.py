"""The default StateStore: one SQLite file (`.cirro/state.db`) shared by any number of processes.

Writes go through `apply`, which runs a list of transitions in one `BEGIN IMMEDIATE`
transaction: load the rows they touch in one SELECT, step the pure rules in memory, then write
the final rows and the events with `executemany`. A batch of a thousand payloads doing
claim → start → complete therefore costs one transaction, not three thousand. Readers use a
connection of their own per thread, so they never wait for the writer (WAL).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from cirrostratus import sqlitedb as connection
from cirrostratus.sqlitedb import DatabaseError
from cirrostratus.state import rules
from cirrostratus.state.model import (
    Follow,
    OutboxRow,
    Outcome,
    State,
    StateStoreError,
    Transition,
    check_transition,
    iso,
    utcnow,
)
from cirrostratus.state.query import COLUMNS
from cirrostratus.state.reads import SqliteReads
from cirrostratus.state.schema import MIGRATIONS, open_database
from cirrostratus.state.shortcuts import TransitionShortcuts

DEFAULT_LEASE_SECONDS = 300.0
_CHUNK = 500  # ids per `IN (...)`: well under SQLite's variable limit

_UPSERT = (
    "INSERT INTO records (payload_id, collections, workflow, itemids, state, created, updated, "
    "state_changed, executions, outputs, last_error, lease_until, rev) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(payload_id) DO UPDATE SET "
    "state=excluded.state, created=excluded.created, updated=excluded.updated, "
    "state_changed=excluded.state_changed, "
    "executions=excluded.executions, outputs=excluded.outputs, last_error=excluded.last_error, "
    "lease_until=excluded.lease_until, rev=excluded.rev"
)
_EVENT = (
    "INSERT INTO events (time, payload_id, from_state, to_state, execution_id, error) "
    "VALUES (?,?,?,?,?,?)"
)
_TEXT: dict[State | None, str | None] = {s: s.value for s in State} | {None: None}  # no enum
# property lookups per row: they were a tenth of a batched apply's Python time
_OUTBOX = "INSERT INTO outbox (payload_id, kind, topic, body) VALUES (?,?,?,?)"


def _row_from_sql(r: Sequence[Any]) -> rules.Row:
    return rules.Row(
        payload_id=r[0],
        collections=r[1],
        workflow=r[2],
        itemids=r[3],
        state=State(r[4]),
        created=r[5],
        updated=r[6],
        state_changed=r[7],
        executions=orjson.loads(r[8]),
        outputs=orjson.loads(r[9]),
        last_error=r[10],
        lease_until=r[11],
    )


def _outbox_row(pid: str, f: Follow, row: rules.Row | None) -> tuple[str, str, str, bytes]:
    """The outbox row of one follow; a record notification gets the record filled in."""
    if not f.record or row is None:
        return (pid, f.kind, f.topic, f.body)
    given = orjson.loads(f.body) if f.body else {}
    attributes = {
        **(given.get("attributes") or {}),
        "collections": row.collections,
        "workflow": row.workflow,
    }
    body = orjson.dumps({"message": row.record().to_dict(), "attributes": attributes})
    return (pid, f.kind, f.topic, body)


class SqliteStateStore(TransitionShortcuts, SqliteReads):
    """The state of every payload, in one SQLite file safe for concurrent processes.

    `now` is the clock (injectable so lease tests need not sleep); `lease_seconds` is how long
    a claim may wait for its `start` before another process may take the payload over.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        now: Callable[[], datetime] = utcnow,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        busy_timeout_ms: int = connection.BUSY_TIMEOUT_MS,
    ) -> None:
        self.path = Path(path)
        self.now = now
        self.lease_seconds = lease_seconds
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = threading.Lock()
        try:
            self._writer = open_database(self.path, MIGRATIONS, "state", busy_timeout_ms)
        except DatabaseError as exc:
            raise StateStoreError(str(exc)) from None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    # --- connections -----------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """A new connection to this store's file (the group-commit writer owns one)."""
        return connection.connect(self.path, busy_timeout_ms=self._busy_timeout_ms)

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._local = threading.local()
        with self._write_lock:
            self._writer.close()

    def __enter__(self) -> SqliteStateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes ----------------------------------------------------------------------

    def apply(self, transitions: Sequence[Transition]) -> list[Outcome]:
        """Run `transitions` in order, in one transaction; one Outcome each, same order."""
        if not transitions:
            return []
        with self._write_lock:
            return self.apply_on(self._writer, transitions)

    def apply_on(
        self, conn: sqlite3.Connection, transitions: Sequence[Transition]
    ) -> list[Outcome]:
        """`apply` on a connection the caller owns (used by the group-commit writer)."""
        for t in transitions:
            check_transition(t)  # refuse malformed ones before taking the lock
        return connection.write_transaction(conn, lambda c: self._apply(c, transitions))

    def _apply(self, conn: sqlite3.Connection, transitions: Sequence[Transition]) -> list[Outcome]:
        now_dt = self.now()
        now = iso(now_dt)
        ids = list(dict.fromkeys(t.payload_id for t in transitions))
        rows: dict[str, rules.Row | None] = {pid: None for pid in ids}
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {COLUMNS} FROM records WHERE payload_id IN ({marks})"
            for r in conn.execute(sql, chunk):
                rows[r[0]] = _row_from_sql(r)
        outcomes: list[Outcome] = []
        lines: list[rules.LogLine] = []
        follows: list[tuple[str, str, str, bytes]] = []
        touched: set[str] = set()
        default_lease = iso(now_dt + timedelta(seconds=self.lease_seconds))
        for t in transitions:
            lease = default_lease
            if t.lease_seconds is not None:
                lease = iso(now_dt + timedelta(seconds=t.lease_seconds))
            row, outcome, line = rules.step(rows[t.payload_id], t, now, lease)
            rows[t.payload_id] = row
            outcomes.append(outcome)
            if line is not None:
                lines.append(line)
                touched.add(t.payload_id)
                if t.follow:
                    follows.extend(_outbox_row(t.payload_id, f, row) for f in t.follow)
        if not lines:
            return outcomes
        (rev,) = conn.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value"
        ).fetchone()
        upserts = []
        deletes = []
        for pid in touched:
            row = rows[pid]
            if row is None:
                deletes.append((pid,))
                continue
            upserts.append(
                (
                    pid,
                    row.collections,
                    row.workflow,
                    row.itemids,
                    _TEXT[row.state],
                    row.created,
                    row.updated,
                    row.state_changed,
                    orjson.dumps(row.executions).decode(),
                    orjson.dumps(row.outputs).decode(),
                    row.last_error,
                    row.lease_until,
                    rev,
                )
            )
        if deletes:
            conn.executemany("DELETE FROM records WHERE payload_id = ?", deletes)
        if upserts:
            conn.executemany(_UPSERT, upserts)
        conn.executemany(
            _EVENT,
            [
                (
                    now,
                    ln.payload_id,
                    _TEXT[ln.from_state],
                    _TEXT[ln.to_state],
                    ln.execution_id,
                    ln.error,
                )
                for ln in lines
            ],
        )
        if follows:
            conn.executemany(_OUTBOX, follows)
        return outcomes

    # --- the outbox --------------------------------------------------------------------

    def outbox(self, limit: int = 1000) -> list[OutboxRow]:
        """Committed follows not yet delivered, oldest first (see `Follow`)."""
        rows = self._reader().execute(
            "SELECT seq, payload_id, kind, topic, body FROM outbox ORDER BY seq LIMIT ?", (limit,)
        )
        return [OutboxRow(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows]

    def outbox_done(self, seqs: Sequence[int]) -> int:
        """Forget delivered outbox rows; return how many were still there."""
        if not seqs:
            return 0
        keys = [(s,) for s in seqs]
        with self._write_lock:
            return connection.write_transaction(
                self._writer,
                lambda c: c.executemany("DELETE FROM outbox WHERE seq = ?", keys).rowcount,
            )

    def release_expired(self) -> list[Outcome]:
        """Turn every CLAIMED record whose lease has ended into FAILED (`LeaseExpired: …`).

        Not needed for correctness (an expired claim may be claimed again anyway); it makes
        payloads whose claimer died show up in `query(state="FAILED")` for rerunning.
        """
        rows = self._reader().execute(
            "SELECT payload_id FROM records WHERE state = 'CLAIMED' AND lease_until <= ?",
            (iso(self.now()),),
        )
        return [o for o in self.apply([Transition.release(r[0]) for r in rows]) if o.applied]
