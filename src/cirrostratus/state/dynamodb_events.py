"""The state events table: the transition log, `/stats`, and the outbox, on DynamoDB.

Cirrus 0.9 kept state events in Timestream, closed to new AWS accounts since June 2025; we
keep them in a DynamoDB table with keys `pk` (S) and `sk` (S) and a TTL on `expires_at`
(env `CIRRO_EVENTS_TABLE`). Four kinds of item share it:

| pk                      | sk                     | what                                    |
|-------------------------|------------------------|-----------------------------------------|
| `day#<YYYY-MM-DD>`      | `<iso time>#<uid>`     | one transition, for `/stats` bins        |
| `payload#<sha256[:32]>` | `<iso time>#<uid>`     | the same transition, for one payload     |
| `outbox`                | `<seq>#<uid>`          | a follow not yet delivered (no TTL)      |
| `summary`               | `<YYYY-MM-DD>`         | a closed day's `/stats` counts (dynamodb_stats) |

A deployment writing more than DynamoDB's per-partition rate (1,000 writes/s) into one
day's partition would need sharded days.
Event and outbox items are written in the same transaction as the record they describe.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cirrostratus.state.dynamodb_items import Item, decode, encode
from cirrostratus.state.model import Event, OutboxRow, State, iso
from cirrostratus.state.rules import LogLine

#: How long event items live (the TTL): the 60 days of `/stats` plus a margin.
RETENTION = timedelta(days=62)

_seq = itertools.count()


def payload_pk(payload_id: str) -> str:
    return "payload#" + hashlib.sha256(payload_id.encode()).hexdigest()[:32]


def event_items(line: LogLine, now: datetime) -> list[Item]:
    """The two items one transition writes (by day, by payload)."""
    when = iso(now)
    sk = f"{when}#{uuid.uuid4().hex[:12]}"
    body = {
        "payload_id": line.payload_id,
        "from_state": str(line.from_state) if line.from_state else None,
        "to_state": str(line.to_state) if line.to_state else None,
        "execution_id": line.execution_id,
        "error": line.error,
        "time": when,
        "expires_at": int((now + RETENTION).timestamp()),
    }
    fields = {k: encode(v) for k, v in body.items()}
    return [
        {"pk": {"S": f"day#{when[:10]}"}, "sk": {"S": sk}, **fields},
        {"pk": {"S": payload_pk(line.payload_id)}, "sk": {"S": sk}, **fields},
    ]


def outbox_item(payload_id: str, kind: str, topic: str, body: bytes) -> Item:
    seq = time.time_ns() // 1000 * 1000 + next(_seq) % 1000
    return {
        "pk": {"S": "outbox"},
        # the suffix keeps two Lambdas writing in the same microsecond from colliding
        "sk": {"S": f"{seq:020d}#{uuid.uuid4().hex[:12]}"},
        "payload_id": {"S": payload_id},
        "kind": {"S": kind},
        "topic": {"S": topic},
        "body": {"B": body},
    }


def outbox_seq(sk: str) -> int:
    """The OutboxRow.seq of an outbox item's sort key (`<seq>#<suffix>`)."""
    return int(sk.partition("#")[0])


def event_from(data: dict[str, Any], seq: int) -> Event:
    """The Event of a decoded transition item (`event_items`' fields). `seq` is the caller's:
    a position in a list here, microseconds since the epoch in the deployment API's stream."""
    return Event(
        seq=seq,
        time=str(data["time"]),
        payload_id=str(data["payload_id"]),
        from_state=State(data["from_state"]) if data.get("from_state") else None,
        to_state=State(data["to_state"]) if data.get("to_state") else None,
        execution_id=data.get("execution_id"),
        error=data.get("error"),
    )


class DynamoEvents:
    """Reads of the events table; the store writes it inside its transactions."""

    def __init__(self, client: Any, table: str, now: Callable[[], datetime]) -> None:
        self.client = client
        self.table = table
        self.now = now
        self._outbox_keys: dict[int, str] = {}  # seq → sk of the rows `outbox` handed out

    def _partition(self, pk: str, **extra: Any) -> Iterator[Item]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            **extra,
        }
        while True:
            resp = self.client.query(**kwargs)
            yield from resp.get("Items", [])
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def events(self, payload_id: str | None, after: int, limit: int) -> list[Event]:
        """One payload's transitions, or (without an id) today's and yesterday's; `seq` is
        the position in that list, so `after` pages as in the SQLite store."""
        if payload_id is not None:
            items: Iterator[Item] = self._partition(payload_pk(payload_id))
        else:
            today = self.now().astimezone(UTC)
            days = [(today - timedelta(days=1)).date(), today.date()]
            items = itertools.chain.from_iterable(self._partition(f"day#{d}") for d in days)
        out: list[Event] = []
        for seq, item in enumerate(items, start=1):
            if seq <= after:
                continue
            data = {k: decode(v) for k, v in item.items()}
            if payload_id is not None and data["payload_id"] != payload_id:
                continue  # a digest collision: never seen, but cheap to rule out
            out.append(event_from(data, seq))
            if len(out) >= limit:
                break
        return out

    def stats(self, now: datetime | None = None) -> dict[str, Any]:
        """Cirrus's `/stats` body (same shape as the SQLite store's); see dynamodb_stats."""
        from cirrostratus.state.dynamodb_stats import StatsReader

        return StatsReader(self).stats(now or self.now())

    def outbox(self, limit: int) -> list[OutboxRow]:
        rows = []
        for item in self._partition("outbox", Limit=limit):
            sk = item["sk"]["S"]
            seq = outbox_seq(sk)
            self._outbox_keys[seq] = sk
            rows.append(
                OutboxRow(
                    seq,
                    item["payload_id"]["S"],
                    item["kind"]["S"],
                    item["topic"]["S"],
                    bytes(item["body"]["B"]),
                )
            )
            if len(rows) >= limit:
                break
        return rows

    def outbox_done(self, seqs: Sequence[int]) -> int:
        done = 0
        for seq in seqs:
            sk = self._outbox_keys.pop(seq, None)
            if sk is None:
                continue  # not handed out by this store: nothing it may delete
            resp = self.client.delete_item(
                TableName=self.table,
                Key={"pk": {"S": "outbox"}, "sk": {"S": sk}},
                ReturnValues="ALL_OLD",
            )
            done += 1 if resp.get("Attributes") else 0
        return done
