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
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.state import connection, rules
from cirrostratus.state.model import (
    STATES,
    Event,
    Execution,
    Outcome,
    Page,
    State,
    StateRecord,
    StateStoreError,
    Transition,
    check_transition,
    iso,
    parse_since,
    utcnow,
)
from cirrostratus.state.query import COLUMNS, Cursor, Filters, check_sort, page_sql
from cirrostratus.state.schema import migrate
from cirrostratus.state.stats import Interval, state_transitions, transition_counts

DEFAULT_LEASE_SECONDS = 300.0
_CHUNK = 500  # ids per `IN (...)`: well under SQLite's variable limit

_UPSERT = (
    "INSERT INTO records (payload_id, collections, workflow, itemids, state, created, updated, "
    "state_changed, executions, outputs, last_error, lease_until, rev) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(payload_id) DO UPDATE SET "
    "state=excluded.state, updated=excluded.updated, state_changed=excluded.state_changed, "
    "executions=excluded.executions, outputs=excluded.outputs, last_error=excluded.last_error, "
    "lease_until=excluded.lease_until, rev=excluded.rev"
)
_EVENT = (
    "INSERT INTO events (time, payload_id, from_state, to_state, execution_id, error) "
    "VALUES (?,?,?,?,?,?)"
)


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


def _record(r: Sequence[Any]) -> StateRecord:
    return StateRecord(
        payload_id=r[0],
        collections=r[1],
        workflow=r[2],
        itemids=r[3],
        state=State(r[4]),
        created=r[5],
        updated=r[6],
        state_changed=r[7],
        executions=tuple(Execution.from_dict(e) for e in orjson.loads(r[8])),
        outputs=tuple(orjson.loads(r[9])),
        last_error=r[10],
        lease_until=r[11],
    )


class SqliteStateStore:
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.now = now
        self.lease_seconds = lease_seconds
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = threading.Lock()
        self._writer = self.connect()
        migrate(self._writer)
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
                    row.state.value,
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
                    ln.from_state.value if ln.from_state else None,
                    ln.to_state.value if ln.to_state else None,
                    ln.execution_id,
                    ln.error,
                )
                for ln in lines
            ],
        )
        return outcomes

    def _one(self, t: Transition) -> Outcome:
        return self.apply([t])[0]

    def claim(
        self,
        payload_id: str,
        execution_id: str,
        *,
        replace: bool = False,
        lease_seconds: float | None = None,
    ) -> Outcome:
        return self._one(
            Transition.claim(payload_id, execution_id, replace=replace, lease_seconds=lease_seconds)
        )

    def start(self, payload_id: str, execution_id: str) -> Outcome:
        return self._one(Transition.start(payload_id, execution_id))

    def claim_and_start(
        self, payload_id: str, execution_id: str, *, replace: bool = False
    ) -> Outcome:
        return self._one(Transition.claim_and_start(payload_id, execution_id, replace=replace))

    def complete(
        self,
        payload_id: str,
        execution_id: str | None = None,
        outputs: list[str] | None = None,
    ) -> Outcome:
        return self._one(Transition.complete(payload_id, execution_id, outputs))

    def fail(self, payload_id: str, error: str, execution_id: str | None = None) -> Outcome:
        return self._one(Transition.fail(payload_id, error, execution_id))

    def invalidate(self, payload_id: str, error: str, execution_id: str | None = None) -> Outcome:
        return self._one(Transition.invalidate(payload_id, error, execution_id))

    def abort(self, payload_id: str, execution_id: str | None = None) -> Outcome:
        return self._one(Transition.abort(payload_id, execution_id))

    def delete(self, payload_id: str) -> Outcome:
        return self._one(Transition.delete(payload_id))

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

    # --- reads -----------------------------------------------------------------------

    def get(self, payload_id: str) -> StateRecord | None:
        r = (
            self._reader()
            .execute(f"SELECT {COLUMNS} FROM records WHERE payload_id = ?", (payload_id,))
            .fetchone()
        )
        return _record(r) if r else None

    def get_many(self, payload_ids: Iterable[str]) -> dict[str, StateRecord]:
        ids = list(dict.fromkeys(payload_ids))
        out: dict[str, StateRecord] = {}
        conn = self._reader()
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            sql = (
                f"SELECT {COLUMNS} FROM records WHERE payload_id IN ({','.join('?' * len(chunk))})"
            )
            out.update((r[0], _record(r)) for r in conn.execute(sql, chunk))
        return out

    def get_states(self, payload_ids: Iterable[str]) -> dict[str, State]:
        """State by payload id; ids without a record are left out."""
        return {pid: rec.state for pid, rec in self.get_many(payload_ids).items()}

    def _filters(
        self,
        collections: str | None,
        workflow: str | None,
        state: State | str | None,
        since: str | timedelta | None,
        error_prefix: str | None,
    ) -> Filters:
        if state is not None:
            try:
                State(state)
            except ValueError:
                raise StateStoreError(
                    f"state={state!r} is not a state; use one of {', '.join(STATES)}"
                ) from None
        cutoff = iso(self.now() - parse_since(since)) if since is not None else None
        return Filters(
            collections=collections,
            workflow=workflow,
            state=state,
            since=cutoff,
            since_column="state_changed" if state is not None else "updated",
            error_prefix=error_prefix,
        )

    def query(
        self,
        *,
        collections: str | None = None,
        workflow: str | None = None,
        state: State | str | None = None,
        since: str | timedelta | None = None,
        error_prefix: str | None = None,
        sort: str = "updated",
        ascending: bool = False,
        limit: int = 100,
        nextkey: str | None = None,
    ) -> Page:
        """One page of records, newest first by default. See `query.py` for the paging rule.

        `since` keeps records updated within that duration, or, with `state`, records that
        entered that state within it (Cirrus's state_updated index).
        """
        check_sort(sort)
        if limit < 1:
            raise StateStoreError(f"limit={limit} must be at least 1")
        filters = self._filters(collections, workflow, state, since, error_prefix)
        cursor = Cursor.decode(nextkey) if nextkey else None
        if cursor is not None and (cursor.sort != sort or cursor.ascending != ascending):
            raise StateStoreError(
                "nextkey belongs to a walk with a different sort order; "
                "keep sort and ascending the same while paging"
            )
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            if cursor is None:
                (horizon,) = conn.execute(
                    "SELECT value FROM counters WHERE name = 'rev'"
                ).fetchone()
            else:
                horizon = cursor.horizon
            sql, params = page_sql(filters, sort, ascending, limit, cursor, int(horizon))
            rows = conn.execute(sql, params).fetchall()
        finally:
            conn.execute("COMMIT")
        items = [_record(r) for r in rows[:limit]]
        key = None
        if len(rows) > limit:
            last = items[-1]
            value = last.updated if sort == "updated" else last.state_changed
            key = Cursor(sort, ascending, value, last.payload_id, int(horizon)).encode()
        return Page(items, key)

    def iter_query(self, **kwargs: Any) -> Iterator[StateRecord]:
        """Every record a query matches, page by page."""
        nextkey: str | None = None
        while True:
            page = self.query(**kwargs, nextkey=nextkey)
            yield from page.items
            if page.nextkey is None:
                return
            nextkey = page.nextkey

    def counts(
        self,
        *,
        collections: str | None = None,
        workflow: str | None = None,
        since: str | timedelta | None = None,
        error_prefix: str | None = None,
        limit: int | None = None,
    ) -> dict[str, int | str]:
        """Records per state, every state listed; over `limit` a count reads `"<limit>+"`."""
        filters = self._filters(collections, workflow, None, since, error_prefix)
        clauses, params = filters.where()
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._reader().execute(
            f"SELECT state, count(*) FROM records {where} GROUP BY state", params
        )
        found = {str(s): int(n) for s, n in rows}
        out: dict[str, int | str] = {}
        for state in STATES:
            n = found.get(str(state), 0)
            out[str(state)] = f"{limit}+" if limit is not None and n > limit else n
        return out

    def events(
        self, payload_id: str | None = None, *, after: int = 0, limit: int = 1000
    ) -> list[Event]:
        """The transition log in order, optionally for one payload; page with `after=seq`."""
        sql = "SELECT seq, time, payload_id, from_state, to_state, execution_id, error FROM events"
        params: list[Any] = [after]
        sql += " WHERE seq > ?"
        if payload_id is not None:
            sql += " AND payload_id = ?"
            params.append(payload_id)
        sql += " ORDER BY seq LIMIT ?"
        params.append(limit)
        return [
            Event(
                seq=int(r[0]),
                time=r[1],
                payload_id=r[2],
                from_state=State(r[3]) if r[3] else None,
                to_state=State(r[4]) if r[4] else None,
                execution_id=r[5],
                error=r[6],
            )
            for r in self._reader().execute(sql, params)
        ]

    def transition_counts(
        self, interval: Interval, bins: int, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        return transition_counts(self._reader(), interval, bins, now or self.now())

    def stats(self, now: datetime | None = None) -> dict[str, Any]:
        """Cirrus's `/stats` body: daily (60 d), hourly (36 h) and hourly_rolling counts."""
        return state_transitions(self._reader(), now or self.now())
