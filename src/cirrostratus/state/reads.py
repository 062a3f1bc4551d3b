"""The read side of the SQLite state store: records, queries, counts, events, stats.

Kept apart from the writes so each file stays one idea; `SqliteStateStore` mixes it in and
provides the clock (`now`) and a per-thread read connection (`_reader`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from cirrostratus.state.model import (
    STATES,
    Event,
    Execution,
    Page,
    State,
    StateRecord,
    StateStoreError,
    iso,
    parse_since,
)
from cirrostratus.state.query import COLUMNS, Cursor, Filters, check_sort, page_sql
from cirrostratus.state.shortcuts import PagedQuery
from cirrostratus.state.stats import Interval, state_transitions, transition_counts

_CHUNK = 500  # ids per `IN (...)`: well under SQLite's variable limit


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


class SqliteReads(PagedQuery):
    """Reads over a state database; every method uses the calling thread's connection."""

    now: Callable[[], datetime]

    def _reader(self) -> sqlite3.Connection:
        raise NotImplementedError

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
                if cursor.digest is not None:  # a long id: find it again by prefix + digest
                    prefix = cursor.payload_id
                    same_prefix = conn.execute(
                        "SELECT payload_id FROM records WHERE payload_id >= ? AND payload_id < ?",
                        (prefix, prefix + "\U0010ffff"),
                    )
                    cursor = cursor.resolved(r[0] for r in same_prefix)
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
        table, counted = "records", "count(*)"
        if since is None and error_prefix is None:  # the trigger-kept totals (schema 4)
            table, counted = "state_counts", "sum(n)"
        rows = self._reader().execute(
            f"SELECT state, {counted} FROM {table} {where} GROUP BY state", params
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
