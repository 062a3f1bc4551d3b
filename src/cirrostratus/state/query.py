"""Building record queries, and the `nextkey` of stable keyset pagination.

The pagination rule (what a walk of pages promises while others write):

* Pages are ordered by `(sort value, payload id)`, ascending or descending, and each page
  continues strictly after the last `(sort value, payload id)` of the one before.
* The first page fixes the walk's *horizon*: the store's write counter at that moment. Every
  write bumps the counter and stamps the rows it writes with it (`rev`), and later pages only
  return rows with `rev <= horizon`, i.e. rows unchanged since the walk began.
* Hence: every record that exists when the walk begins and is not changed during it appears
  exactly once; a record changed or deleted during the walk appears at most once (if it was
  listed before it changed); records created during the walk do not appear. Nothing repeats
  and nothing unchanged is skipped. Start a new walk (or use `since`) to see newer changes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from cirrostratus.state.model import State, StateStoreError

SortKey = Literal["updated", "state_changed"]
SORT_KEYS: tuple[str, ...] = ("updated", "state_changed")


#: A payload id longer than this is carried in a nextkey as a prefix and a digest: the id of
#: a payload of 10,000 items is hundreds of KB, more than one shell argument may hold.
CURSOR_ID_CHARS = 200


def id_digest(payload_id: str) -> str:
    return hashlib.sha256(payload_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Cursor:
    """What a `nextkey` carries: where the last page ended, and the walk's horizon.

    A long `payload_id` travels as its first CURSOR_ID_CHARS characters plus `digest`, the
    sha256 of the whole id; the store finds the whole id again (`resolved`) before paging.
    """

    sort: str
    ascending: bool
    value: str
    payload_id: str
    horizon: int
    digest: str | None = None  # set when payload_id is only a prefix

    def encode(self) -> str:
        pid: Any = self.payload_id
        if self.digest is None and len(pid) > CURSOR_ID_CHARS:
            pid = [pid[:CURSOR_ID_CHARS], id_digest(pid)]
        raw = orjson.dumps([self.sort, self.ascending, self.value, pid, self.horizon])
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def resolved(self, candidates: Any) -> Cursor:
        """This cursor with its whole payload id, found among `candidates` (ids starting with
        the prefix); a record deleted since the page was read cannot be found again."""
        if self.digest is None:
            return self
        for candidate in candidates:
            if id_digest(candidate) == self.digest:
                return Cursor(self.sort, self.ascending, self.value, candidate, self.horizon)
        raise StateStoreError(
            "the record this nextkey continues after was deleted since; start the listing "
            "again without nextkey"
        )

    @classmethod
    def decode(cls, nextkey: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(nextkey + "=" * (-len(nextkey) % 4))
            sort, ascending, value, pid, horizon = orjson.loads(raw)
            prefix, digest = pid if isinstance(pid, list) else (pid, None)
            return cls(
                str(sort),
                bool(ascending),
                str(value),
                str(prefix),
                int(horizon),
                None if digest is None else str(digest),
            )
        except (ValueError, TypeError) as exc:
            raise StateStoreError(
                f"nextkey {nextkey[:40]!r} is not one this store handed out; "
                "pass the nextkey of the previous page unchanged"
            ) from exc


@dataclass(slots=True)
class Filters:
    """The WHERE clause shared by queries and counts."""

    collections: str | None = None
    workflow: str | None = None
    state: State | str | None = None
    since: str | None = None  # ISO time; compared with `since_column`
    since_column: str = "updated"
    error_prefix: str | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.collections is not None:
            clauses.append("collections = ?")
            params.append(self.collections)
        if self.workflow is not None:
            clauses.append("workflow = ?")
            params.append(self.workflow)
        if self.state is not None:
            clauses.append("state = ?")
            params.append(str(State(self.state)))
        if self.since is not None:
            clauses.append(f"{self.since_column} >= ?")
            params.append(self.since)
        if self.error_prefix is not None:
            clauses.append("substr(last_error, 1, ?) = ?")
            params.extend([len(self.error_prefix), self.error_prefix])
        return clauses, params


def check_sort(sort: str) -> str:
    if sort not in SORT_KEYS:
        raise StateStoreError(f"sort={sort!r} is not supported; use one of {', '.join(SORT_KEYS)}")
    return sort


def page_sql(
    filters: Filters, sort: str, ascending: bool, limit: int, cursor: Cursor | None, horizon: int
) -> tuple[str, list[Any]]:
    """SELECT for one page: `limit + 1` rows so the caller knows whether more follow."""
    clauses, params = filters.where()
    clauses.append("rev <= ?")
    params.append(horizon)
    if cursor is not None:
        op = ">" if ascending else "<"
        clauses.append(f"({sort}, payload_id) {op} (?, ?)")
        params.extend([cursor.value, cursor.payload_id])
    direction = "ASC" if ascending else "DESC"
    sql = (
        f"SELECT {COLUMNS} FROM records WHERE {' AND '.join(clauses)} "
        f"ORDER BY {sort} {direction}, payload_id {direction} LIMIT ?"
    )
    params.append(limit + 1)
    return sql, params


COLUMNS = (
    "payload_id, collections, workflow, itemids, state, created, updated, state_changed, "
    "executions, outputs, last_error, lease_until"
)
