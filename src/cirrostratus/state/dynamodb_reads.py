"""The read side of the DynamoDB state store: records, queries and counts.

Queries for one `collections` + `workflow` use Cirrus's indexes, as Cirrus's `StateDB.query`
does: `updated` for the default sort (and `since` without a state), `state_updated` for a
state (with `since`, BETWEEN `STATE_<cutoff>` and `STATE_~`). Anything else — no collections
or workflow, or sort by state_changed without a state — is a scan of the table, filtered and
sorted in memory: fine for `cirro query` on a deployment of thousands of records, slow on
millions. Paging follows DynamoDB (a `nextkey` is where the last page ended), so a record
changed during a walk may move; the SQLite store's horizon rule does not hold here.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson

from cirrostratus.state import rules
from cirrostratus.state.dynamodb_items import (
    Item,
    collections_workflow,
    key_of,
    row_from_item,
)
from cirrostratus.state.model import (
    STATES,
    Page,
    State,
    StateRecord,
    StateStoreError,
    iso,
    parse_since,
)
from cirrostratus.state.query import check_sort
from cirrostratus.state.shortcuts import PagedQuery

_BATCH_GET = 100  # DynamoDB's BatchGetItem limit
FILTERED_PAGE = 500  # items read per request when a filter drops some of them


def _encode_key(kind: str, key: Any) -> str:
    raw = orjson.dumps([kind, key])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_key(nextkey: str) -> tuple[str, Any]:
    try:
        kind, key = orjson.loads(base64.urlsafe_b64decode(nextkey + "=" * (-len(nextkey) % 4)))
        return str(kind), key
    except (ValueError, TypeError):
        raise StateStoreError(
            f"nextkey {nextkey[:40]!r} is not one this store handed out; "
            "pass the nextkey of the previous page unchanged"
        ) from None


class DynamoReads(PagedQuery):
    """Reads over the state table; the store provides `client`, `table` and `now`."""

    client: Any
    table: str
    now: Callable[[], datetime]

    def _get_row(self, payload_id: str) -> rules.Row | None:
        resp = self.client.get_item(
            TableName=self.table, Key=key_of(payload_id), ConsistentRead=True
        )
        item = resp.get("Item")
        return row_from_item(item) if item else None

    def _get_rows(self, payload_ids: Iterable[str]) -> dict[str, rules.Row]:
        ids = list(dict.fromkeys(payload_ids))
        out: dict[str, rules.Row] = {}
        for i in range(0, len(ids), _BATCH_GET):
            keys: list[Item] = [key_of(pid) for pid in ids[i : i + _BATCH_GET]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                resp = self.client.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table, []):
                    row = row_from_item(item)
                    out[row.payload_id] = row
                request = resp.get("UnprocessedKeys") or {}
        return out

    def get(self, payload_id: str) -> StateRecord | None:
        row = self._get_row(payload_id)
        return row.record() if row else None

    def get_many(self, payload_ids: Iterable[str]) -> dict[str, StateRecord]:
        return {pid: row.record() for pid, row in self._get_rows(payload_ids).items()}

    def get_states(self, payload_ids: Iterable[str]) -> dict[str, State]:
        return {pid: row.state for pid, row in self._get_rows(payload_ids).items()}

    # --- queries ---------------------------------------------------------------------

    def _cutoff(self, since: str | timedelta | None) -> str | None:
        return iso(self.now() - parse_since(since)) if since is not None else None

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
        """One page of records, newest first by default (see the module docstring)."""
        check_sort(sort)
        if limit < 1:
            raise StateStoreError(f"limit={limit} must be at least 1")
        st = _state(state)
        cutoff = self._cutoff(since)
        indexed = collections is not None and workflow is not None
        if indexed and (sort == "updated" or st is not None):
            assert collections is not None and workflow is not None
            return self._index_page(
                collections_workflow(collections, workflow),
                st,
                cutoff,
                error_prefix,
                sort,
                ascending,
                limit,
                nextkey,
            )
        return self._scan_page(
            collections, workflow, st, cutoff, error_prefix, sort, ascending, limit, nextkey
        )

    def _index_page(
        self,
        cw: str,
        state: State | None,
        cutoff: str | None,
        error_prefix: str | None,
        sort: str,
        ascending: bool,
        limit: int,
        nextkey: str | None,
    ) -> Page:
        names = {"#cw": "collections_workflow"}
        values: dict[str, Item] = {":cw": {"S": cw}}
        filters: list[str] = []
        if sort == "updated":
            index, range_attr = "updated", "updated"
            cond = "#cw = :cw"
            if state is not None:
                names["#su"] = "state_updated"
                values[":st"] = {"S": f"{state}_{cutoff or ''}"}
                values[":st_end"] = {"S": f"{state}_\uffff"}
                filters.append("#su BETWEEN :st AND :st_end")
            elif cutoff is not None:
                names["#up"] = "updated"
                values[":cut"] = {"S": cutoff}
                cond += " AND #up >= :cut"
        else:  # state_changed, with a state: Cirrus's state_updated index
            assert state is not None
            index, range_attr = "state_updated", "state_updated"
            names["#su"] = "state_updated"
            values[":st"] = {"S": f"{state}_{cutoff or ''}"}
            values[":st_end"] = {"S": f"{state}_\uffff"}
            cond = "#cw = :cw AND #su BETWEEN :st AND :st_end"
        if error_prefix is not None:
            names["#le"] = "last_error"
            values[":err"] = {"S": error_prefix}
            filters.append("begins_with(#le, :err)")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": cond,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": ascending,
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if nextkey:
            kind, key = _decode_key(nextkey)
            if kind != f"index:{index}:{ascending}":
                raise StateStoreError(
                    "nextkey belongs to a walk with a different sort order; "
                    "keep sort and ascending the same while paging"
                )
            kwargs["ExclusiveStartKey"] = {k: {"S": v} for k, v in key.items()}
        items: list[Item] = []
        while True:
            wanted = max(limit - len(items), 1) + 1
            # DynamoDB applies Limit before the filter: read wider pages when filtering
            kwargs["Limit"] = max(wanted, FILTERED_PAGE) if filters else wanted
            resp = self.client.query(**kwargs)
            items.extend(resp.get("Items", []))
            more = "LastEvaluatedKey" in resp
            if len(items) > limit or not more:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        page = items[:limit]
        key = None
        if len(items) > limit or (more and len(items) == limit):
            last = page[-1]
            attrs = ("collections_workflow", "itemids", range_attr)
            key = _encode_key(f"index:{index}:{ascending}", {a: last[a]["S"] for a in attrs})
        return Page([row_from_item(i).record() for i in page], key)

    def _scan(self, **extra: Any) -> Iterator[Item]:
        kwargs: dict[str, Any] = {"TableName": self.table, **extra}
        while True:
            resp = self.client.scan(**kwargs)
            yield from resp.get("Items", [])
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _scan_rows(
        self,
        collections: str | None,
        workflow: str | None,
        state: State | None,
        cutoff: str | None,
        error_prefix: str | None,
    ) -> Iterator[rules.Row]:
        for item in self._scan():
            row = row_from_item(item)
            if collections is not None and row.collections != collections:
                continue
            if workflow is not None and row.workflow != workflow:
                continue
            if state is not None and row.state is not state:
                continue
            if cutoff is not None:
                when = row.state_changed if state is not None else row.updated
                if when < cutoff:
                    continue
            if error_prefix is not None and not (row.last_error or "").startswith(error_prefix):
                continue
            yield row

    def _scan_page(
        self,
        collections: str | None,
        workflow: str | None,
        state: State | None,
        cutoff: str | None,
        error_prefix: str | None,
        sort: str,
        ascending: bool,
        limit: int,
        nextkey: str | None,
    ) -> Page:
        rows = list(self._scan_rows(collections, workflow, state, cutoff, error_prefix))

        def order(r: rules.Row) -> tuple[str, str]:
            return (r.updated if sort == "updated" else r.state_changed, r.payload_id)

        rows.sort(key=order, reverse=not ascending)
        if nextkey:
            kind, key = _decode_key(nextkey)
            if kind != f"scan:{sort}:{ascending}":
                raise StateStoreError(
                    "nextkey belongs to a walk with a different sort order; "
                    "keep sort and ascending the same while paging"
                )
            after = (str(key[0]), str(key[1]))
            rows = [r for r in rows if (order(r) > after if ascending else order(r) < after)]
        page = rows[:limit]
        key_out = None
        if len(rows) > limit:
            key_out = _encode_key(f"scan:{sort}:{ascending}", list(order(page[-1])))
        return Page([r.record() for r in page], key_out)

    def counts(
        self,
        *,
        collections: str | None = None,
        workflow: str | None = None,
        since: str | timedelta | None = None,
        error_prefix: str | None = None,
        limit: int | None = None,
    ) -> dict[str, int | str]:
        """Records per state, every state listed; over `limit` a count reads `"<limit>+"`.

        With collections and workflow: one COUNT query per state on the `state_updated`
        index, as Cirrus's `get_counts`; otherwise one scan.
        """
        cutoff = self._cutoff(since)
        found: dict[str, int] = {}
        if collections is not None and workflow is not None:
            cw = collections_workflow(collections, workflow)
            for st in STATES:
                found[str(st)] = self._count(cw, st, cutoff, error_prefix, limit)
        else:
            for row in self._scan_rows(collections, workflow, None, cutoff, error_prefix):
                found[str(row.state)] = found.get(str(row.state), 0) + 1
        out: dict[str, int | str] = {}
        for st in STATES:
            n = found.get(str(st), 0)
            out[str(st)] = f"{limit}+" if limit is not None and n > limit else n
        return out

    def _count(
        self,
        cw: str,
        state: State,
        cutoff: str | None,
        error_prefix: str | None,
        limit: int | None,
    ) -> int:
        names = {"#cw": "collections_workflow", "#su": "state_updated"}
        values: dict[str, Item] = {":cw": {"S": cw}, ":st": {"S": f"{state}_"}}
        filters = []
        if cutoff is not None:
            names["#up"] = "updated"
            values[":cut"] = {"S": cutoff}
            filters.append("#up >= :cut")
        if error_prefix is not None:
            names["#le"] = "last_error"
            values[":err"] = {"S": error_prefix}
            filters.append("begins_with(#le, :err)")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "state_updated",
            "KeyConditionExpression": "#cw = :cw AND begins_with(#su, :st)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Select": "COUNT",
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        total = 0
        while True:
            resp = self.client.query(**kwargs)
            total += int(resp.get("Count", 0))
            if "LastEvaluatedKey" not in resp or (limit is not None and total > limit):
                return total
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _state(state: State | str | None) -> State | None:
    if state is None:
        return None
    try:
        return State(state)
    except ValueError:
        raise StateStoreError(
            f"state={state!r} is not a state; use one of {', '.join(STATES)}"
        ) from None
