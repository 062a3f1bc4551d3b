"""The StateStore on DynamoDB, in Cirrus's state table schema.

`DynamoStateStore` reads and writes the records of a real Cirrus 0.9 deployment (table
`<stack>-state`, env `CIRRUS_STATE_DB`; schema in `dynamodb_items`), and runs the same
transition rules (`cirrostratus.state.rules`) as the SQLite store. Each payload id's
transitions in an `apply` are one DynamoDB transaction: the record update, conditional on
the record being exactly as read (else it is re-read and the rules run again), plus its
event items and outbox items in the events table (`CIRRO_EVENTS_TABLE`). Different payload
ids in one `apply` are separate transactions (DynamoDB's limit is 100 items per transaction).

Without an events table the store still works; `events()` is empty, `stats()` raises (the
API answers 404 as Cirrus does without Timestream) and follows stay in memory until
`outbox()` hands them out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from cirrostratus.state import rules
from cirrostratus.state.dynamodb_client import error_code, make_client
from cirrostratus.state.dynamodb_events import DynamoEvents, event_items, outbox_item, outbox_seq
from cirrostratus.state.dynamodb_items import Item, key_of, update_of
from cirrostratus.state.dynamodb_reads import DynamoReads
from cirrostratus.state.model import (
    Event,
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
from cirrostratus.state.shortcuts import TransitionShortcuts

DEFAULT_LEASE_SECONDS = 300.0
#: Attempts at one payload id's transaction before giving up (others kept changing it).
MAX_ATTEMPTS = 8


class DynamoStateStore(TransitionShortcuts, DynamoReads):
    """Payload state in a Cirrus-schema DynamoDB table (plus an optional events table)."""

    def __init__(
        self,
        table_name: str,
        *,
        events_table: str | None = None,
        client: Any = None,
        session: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        now: Callable[[], datetime] = utcnow,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if not table_name:
            raise StateStoreError(
                "no state table: set CIRRUS_STATE_DB to the DynamoDB table name "
                "(Cirrus names it <stack>-state)"
            )
        self.table = table_name
        self.events_table = events_table or None
        self.client = make_client(
            "dynamodb", client=client, session=session, endpoint_url=endpoint_url, region=region
        )
        self.now = now
        self.lease_seconds = lease_seconds
        self._events = DynamoEvents(self.client, events_table, now) if events_table else None
        self._memory_outbox: list[OutboxRow] = []

    @classmethod
    def from_env(cls, env: Any = None, **kwargs: Any) -> DynamoStateStore:
        """The store a Lambda handler uses: `CIRRUS_STATE_DB` and `CIRRO_EVENTS_TABLE`."""
        import os

        env = os.environ if env is None else env
        return cls(
            env.get("CIRRUS_STATE_DB", ""),
            events_table=env.get("CIRRO_EVENTS_TABLE") or None,
            **kwargs,
        )

    def close(self) -> None:
        return None

    def __enter__(self) -> DynamoStateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes ----------------------------------------------------------------------

    def apply(self, transitions: Sequence[Transition]) -> list[Outcome]:
        """Run the transitions in order; each payload id's are one conditional transaction."""
        for t in transitions:
            check_transition(t)
        by_id: dict[str, list[int]] = {}
        for i, t in enumerate(transitions):
            by_id.setdefault(t.payload_id, []).append(i)
        outcomes: list[Outcome | None] = [None] * len(transitions)
        rows = self._get_rows(by_id)
        for pid, indexes in by_id.items():
            row = rows.get(pid)
            for _attempt in range(MAX_ATTEMPTS):
                done = self._apply_one(row, [transitions[i] for i in indexes])
                if done is not None:
                    for i, outcome in zip(indexes, done, strict=True):
                        outcomes[i] = outcome
                    break
                row = self._get_row(pid)  # changed under us: read again, run the rules again
            else:
                raise StateStoreError(
                    f"{pid!r} kept changing while {MAX_ATTEMPTS} attempts tried to update it"
                )
        return [o for o in outcomes if o is not None]

    def _apply_one(self, row: rules.Row | None, ts: list[Transition]) -> list[Outcome] | None:
        """Step `ts` over `row` and write the result; None if the record changed meanwhile."""
        before = _copy(row)
        now_dt = self.now()
        now = iso(now_dt)
        outcomes: list[Outcome] = []
        lines: list[rules.LogLine] = []
        follows: list[tuple[Follow, rules.Row | None]] = []
        for t in ts:
            seconds = self.lease_seconds if t.lease_seconds is None else t.lease_seconds
            lease = iso(now_dt + timedelta(seconds=seconds))
            row, outcome, line = rules.step(row, t, now, lease)
            outcomes.append(outcome)
            if line is not None:
                lines.append(line)
                follows.extend((f, _copy(row)) for f in t.follow)
        if not lines:
            return outcomes
        pid = ts[0].payload_id
        actions: list[dict[str, Any]] = [self._record_action(pid, before, row)]
        outbox: list[OutboxRow] = []
        if self.events_table:
            for line in lines:
                actions += [
                    {"Put": {"TableName": self.events_table, "Item": item}}
                    for item in event_items(line, now_dt)
                ]
        for follow, after in follows:
            kind, topic, body = _follow_message(follow, after)
            item = outbox_item(pid, kind, topic, body)
            if self.events_table:
                actions.append({"Put": {"TableName": self.events_table, "Item": item}})
            else:
                outbox.append(OutboxRow(outbox_seq(item["sk"]["S"]), pid, kind, topic, body))
        try:
            self.client.transact_write_items(TransactItems=actions)
        except Exception as exc:
            if error_code(exc) == "TransactionCanceledException" and _condition_failed(exc):
                return None
            raise
        self._memory_outbox.extend(outbox)
        return outcomes

    def _record_action(
        self, pid: str, before: rules.Row | None, after: rules.Row | None
    ) -> dict[str, Any]:
        """The record's write, conditional on it being as it was read."""
        values: dict[str, Item] = {}
        names: dict[str, str] = {}
        if before is None:
            cond = "attribute_not_exists(#cw)"
            names["#cw"] = "collections_workflow"
        else:
            cond = "#su_old = :su_old AND #up_old = :up_old"
            names.update({"#su_old": "state_updated", "#up_old": "updated"})
            values[":su_old"] = {"S": f"{before.state}_{before.state_changed}"}
            values[":up_old"] = {"S": before.updated}
        if after is None:
            delete: dict[str, Any] = {"TableName": self.table, "Key": key_of(pid)}
            if before is not None:
                delete |= {
                    "ConditionExpression": cond,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            return {"Delete": delete}
        expr, set_names, set_values = update_of(after)
        return {
            "Update": {
                "TableName": self.table,
                "Key": key_of(pid),
                "UpdateExpression": expr,
                "ConditionExpression": cond,
                "ExpressionAttributeNames": names | set_names,
                "ExpressionAttributeValues": values | set_values,
            }
        }

    def set_outputs(self, payload_id: str, outputs: Sequence[str]) -> None:
        """Cirrus's `set_outputs` (what publish does): outputs and `updated`, state unchanged."""
        now = iso(self.now())
        self.client.update_item(
            TableName=self.table,
            Key=key_of(payload_id),
            UpdateExpression="SET created = if_not_exists(created, :now), updated = :now, "
            "outputs = :outputs",
            ExpressionAttributeValues={
                ":now": {"S": now},
                ":outputs": {"L": [{"S": str(o)} for o in outputs]},
            },
        )

    def release_expired(self) -> list[Outcome]:
        """Turn CLAIMED records whose lease ended into FAILED (a scan: run it rarely)."""
        now = iso(self.now())
        expired = [
            r.payload_id
            for r in self._scan_rows(None, None, State.CLAIMED, None, None)
            if r.expired(now)
        ]
        return [o for o in self.apply([Transition.release(p) for p in expired]) if o.applied]

    # --- events, stats, outbox ------------------------------------------------------------

    def events(
        self, payload_id: str | None = None, *, after: int = 0, limit: int = 1000
    ) -> list[Event]:
        return self._events.events(payload_id, after, limit) if self._events else []

    def stats(self, now: datetime | None = None) -> dict[str, Any]:
        if self._events is None:
            raise StateStoreError(
                "stats need the state events table: set CIRRO_EVENTS_TABLE to its name"
            )
        return self._events.stats(now)

    def outbox(self, limit: int = 1000) -> list[OutboxRow]:
        if self._events is None:
            return self._memory_outbox[:limit]
        return self._events.outbox(limit)

    def outbox_done(self, seqs: Sequence[int]) -> int:
        if self._events is None:
            gone = set(seqs)
            kept = [r for r in self._memory_outbox if r.seq not in gone]
            done = len(self._memory_outbox) - len(kept)
            self._memory_outbox = kept
            return done
        return self._events.outbox_done(seqs)


def _copy(row: rules.Row | None) -> rules.Row | None:
    if row is None:
        return None
    return rules.Row(
        row.payload_id,
        row.collections,
        row.workflow,
        row.itemids,
        row.state,
        row.created,
        row.updated,
        row.state_changed,
        [dict(e) for e in row.executions],
        list(row.outputs),
        row.last_error,
        row.lease_until,
    )


def _follow_message(follow: Follow, row: rules.Row | None) -> tuple[str, str, bytes]:
    """(kind, topic, body) of a follow; a record notification gets the record filled in."""
    if not follow.record or row is None:
        return follow.kind, follow.topic, follow.body
    given = orjson.loads(follow.body) if follow.body else {}
    attributes = {
        **(given.get("attributes") or {}),
        "collections": row.collections,
        "workflow": row.workflow,
    }
    body = orjson.dumps({"message": row.record().to_dict(), "attributes": attributes})
    return follow.kind, follow.topic, body


def _condition_failed(exc: BaseException) -> bool:
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons
