"""The DynamoDB StateStore against moto's server: Cirrus's schema both ways, and the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cirrostratus.state import Follow, State, StateStoreError, Transition
from cirrostratus.state.dynamodb import DynamoStateStore

ARN = "arn:aws:states:us-east-1:123456789012:execution:stack-wf:"
PID = "sentinel-2-l2a/workflow-cog/S2A_1_20240101_0_L2A"


def cirrus_table(aws: Any, name: str) -> Any:
    import boto3

    return boto3.resource("dynamodb", endpoint_url=aws("dynamodb").meta.endpoint_url).Table(name)


class CirrusWriter:
    """Writes as Cirrus 0.9's `StateDB` does (its update expressions, its key split)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    @staticmethod
    def key(payload_id: str) -> dict[str, str]:
        collections, _, rest = payload_id.partition("/workflow-")
        workflow, _, itemids = rest.partition("/")
        return {"collections_workflow": f"{collections}_{workflow}", "itemids": itemids}

    def _set(self, payload_id: str, expr: str, values: dict[str, Any], **kw: Any) -> None:
        self.table.update_item(
            Key=self.key(payload_id),
            UpdateExpression=expr,
            ExpressionAttributeValues=values,
            **kw,
        )

    def claim_processing(self, payload_id: str) -> None:
        now = datetime.now(UTC).isoformat()
        self._set(
            payload_id,
            "SET created = if_not_exists(created, :created), state_updated=:su, updated=:up",
            {":created": now, ":su": f"PROCESSING_{now}", ":up": now, ":proc": "PROCESSING"},
            ConditionExpression="NOT begins_with(state_updated, :proc)",
        )

    def set_processing(self, payload_id: str, arn: str) -> None:
        now = datetime.now(UTC).isoformat()
        self._set(
            payload_id,
            "SET created = if_not_exists(created, :created), state_updated=:su, updated=:up, "
            "executions = list_append(if_not_exists(executions, :empty), :exes)",
            {":created": now, ":su": f"PROCESSING_{now}", ":up": now, ":empty": [], ":exes": [arn]},
        )

    def set_state(self, payload_id: str, state: str, msg: str | None = None) -> None:
        now = datetime.now(UTC).isoformat()
        expr = "SET created = if_not_exists(created, :created), state_updated=:su, updated=:up"
        values = {":created": now, ":su": f"{state}_{now}", ":up": now}
        if msg is not None:
            expr += ", last_error=:le"
            values[":le"] = msg
        self._set(payload_id, expr, values)

    def get_state(self, payload_id: str) -> str:
        item = self.table.get_item(Key=self.key(payload_id)).get("Item")
        return item["state_updated"].split("_")[0] if item else ""


@pytest.fixture
def store(aws: Any, tables: tuple[str, str]) -> DynamoStateStore:
    return DynamoStateStore(tables[0], events_table=tables[1])


@pytest.fixture
def cirrus(aws: Any, tables: tuple[str, str]) -> CirrusWriter:
    return CirrusWriter(cirrus_table(aws, tables[0]))


def test_a_record_cirrus_wrote_reads_back_field_by_field(
    store: DynamoStateStore, cirrus: CirrusWriter
) -> None:
    cirrus.claim_processing(PID)
    cirrus.set_processing(PID, ARN + "one")
    cirrus.set_state(PID, "FAILED", "TaskError: boom")
    raw = cirrus.table.get_item(Key=cirrus.key(PID))["Item"]

    rec = store.get(PID)
    assert rec is not None
    assert rec.payload_id == PID
    assert (rec.collections, rec.workflow, rec.itemids) == (
        "sentinel-2-l2a",
        "cog",
        "S2A_1_20240101_0_L2A",
    )
    assert rec.state is State.FAILED
    assert rec.created == raw["created"] and rec.updated == raw["updated"]
    assert rec.state_changed == raw["state_updated"].partition("_")[2]
    assert [e.id for e in rec.executions] == [ARN + "one"]
    assert rec.executions[0].status == "FAILED"
    assert rec.last_error == "TaskError: boom"
    assert rec.outputs == ()
    assert store.get_states([PID, "x/workflow-y/z"]) == {PID: State.FAILED}
    page = store.query(collections="sentinel-2-l2a", workflow="cog", state="FAILED")
    assert [r.payload_id for r in page.items] == [PID]
    assert store.counts(collections="sentinel-2-l2a", workflow="cog")["FAILED"] == 1
    # FAILED may be claimed again: the rules run over Cirrus's record.
    assert store.claim_and_start(PID, ARN + "two").applied
    assert [e.id for e in store.get(PID).executions] == [ARN + "one", ARN + "two"]  # type: ignore[union-attr]


def test_a_record_we_wrote_reads_as_cirrus_reads_it(
    store: DynamoStateStore, cirrus: CirrusWriter
) -> None:
    assert store.claim(PID, ARN + "one").state is State.CLAIMED
    assert store.start(PID, ARN + "one").state is State.PROCESSING
    assert cirrus.get_state(PID) == "PROCESSING"
    assert store.complete(PID, ARN + "one", ["s3://data/a.json"]).applied
    raw = cirrus.table.get_item(Key=cirrus.key(PID))["Item"]
    assert raw["collections_workflow"] == "sentinel-2-l2a_cog"
    assert raw["itemids"] == "S2A_1_20240101_0_L2A"
    state, _, when = raw["state_updated"].partition("_")
    assert state == "COMPLETED"
    assert datetime.fromisoformat(when).utcoffset() == timedelta(0)
    assert datetime.fromisoformat(raw["created"]) <= datetime.fromisoformat(raw["updated"])
    assert raw["executions"] == [ARN + "one"]
    assert raw["outputs"] == ["s3://data/a.json"]
    assert "last_error" not in raw
    # Cirrus's index query (state alone: begins_with on state_updated) finds it.
    from boto3.dynamodb.conditions import Key

    found = cirrus.table.query(
        IndexName="state_updated",
        KeyConditionExpression=Key("collections_workflow").eq("sentinel-2-l2a_cog")
        & Key("state_updated").begins_with("COMPLETED"),
    )["Items"]
    assert [i["itemids"] for i in found] == ["S2A_1_20240101_0_L2A"]
    # Cirrus reruns it (process with replace): its claim and set_processing on our record.
    cirrus.claim_processing(PID)
    cirrus.set_processing(PID, ARN + "two")
    rec = store.get(PID)
    assert rec is not None and rec.state is State.PROCESSING
    assert [(e.id, e.status) for e in rec.executions] == [
        (ARN + "one", "SUCCEEDED"),
        (ARN + "two", "RUNNING"),
    ]
    # ...and our update-state rules finish Cirrus's execution.
    assert store.fail(PID, "TaskError: late", ARN + "two").state is State.FAILED
    assert cirrus.get_state(PID) == "FAILED"


def test_rules_refuse_what_sqlite_refuses(store: DynamoStateStore) -> None:
    assert store.claim_and_start(PID, ARN + "a").applied
    second = store.claim_and_start(PID, ARN + "b")
    assert not second.applied and "owned by" in (second.reason or "")
    assert not store.complete(PID, ARN + "b").applied  # a stale execution
    assert store.complete(PID, ARN + "a").applied
    assert not store.claim(PID, ARN + "c").applied  # COMPLETED needs replace
    assert store.apply([Transition.claim(PID, ARN + "c", replace=True)])[0].applied
    assert store.delete(PID).applied and store.get(PID) is None
    with pytest.raises(StateStoreError, match="workflow-"):
        store.claim("no-workflow-part", ARN + "d")


def test_an_expired_claim_is_released(aws: Any, tables: tuple[str, str]) -> None:
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = DynamoStateStore(tables[0], now=lambda: clock[0], lease_seconds=10)
    store.claim(PID, ARN + "a")
    assert store.release_expired() == []
    clock[0] += timedelta(seconds=11)
    released = store.release_expired()
    assert [(o.payload_id, o.state) for o in released] == [(PID, State.FAILED)]
    assert (store.get(PID).last_error or "").startswith("LeaseExpired")  # type: ignore[union-attr]


def test_a_record_changed_between_read_and_write_is_read_again(
    store: DynamoStateStore, cirrus: CirrusWriter
) -> None:
    store.claim_and_start(PID, ARN + "a")
    stale = store._get_rows([PID])
    store.complete(PID, ARN + "a")  # the record moves on after `stale` was read
    reads = []
    original = store._get_rows

    def first_stale(ids: Any) -> Any:
        reads.append(1)
        return stale if len(reads) == 1 else original(ids)

    store._get_rows = first_stale  # type: ignore[method-assign]
    # On the stale row (PROCESSING by a) this would apply; on the fresh one it must not.
    outcome = store.complete(PID, ARN + "a")
    assert not outcome.applied and outcome.state is State.COMPLETED


def _records(store: DynamoStateStore, n: int) -> list[str]:
    ids = [f"c1/workflow-w1/item-{i}" for i in range(n)]
    for i, pid in enumerate(ids):
        store.claim_and_start(pid, f"{ARN}{i}")
        if i % 2:
            store.fail(pid, f"Err{i}: bad", f"{ARN}{i}")
        else:
            store.complete(pid, f"{ARN}{i}")
    return ids


@pytest.mark.parametrize("scoped", [True, False], ids=["index", "scan"])
def test_query_pages_cover_every_record_once_newest_first(
    store: DynamoStateStore, scoped: bool
) -> None:
    ids = _records(store, 7)
    scope = {"collections": "c1", "workflow": "w1"} if scoped else {}
    seen, nextkey = [], None
    for _ in range(10):
        page = store.query(**scope, limit=3, nextkey=nextkey)
        seen += page.items
        nextkey = page.nextkey
        if nextkey is None:
            break
    assert sorted(r.payload_id for r in seen) == sorted(ids)
    updated = [r.updated for r in seen]
    assert updated == sorted(updated, reverse=True)
    failed = store.query(**scope, state="FAILED", sort="state_changed", ascending=True)
    assert [r.payload_id for r in failed.items] == [ids[1], ids[3], ids[5]]
    err = store.query(**scope, error_prefix="Err3")
    assert [r.payload_id for r in err.items] == [ids[3]]
    assert len(list(store.iter_query(**scope, state="COMPLETED", limit=2))) == 4
    assert store.query(**scope, since="1h").items
    with pytest.raises(StateStoreError, match="sort order"):
        store.query(**scope, limit=3, ascending=True, nextkey=store.query(**scope, limit=3).nextkey)


def test_counts_every_state_and_the_limit(store: DynamoStateStore) -> None:
    _records(store, 7)
    counts = store.counts(collections="c1", workflow="w1")
    assert counts == {
        "CLAIMED": 0,
        "PROCESSING": 0,
        "COMPLETED": 4,
        "FAILED": 3,
        "INVALID": 0,
        "ABORTED": 0,
    }
    assert store.counts()["COMPLETED"] == 4
    assert store.counts(collections="c1", workflow="w1", limit=2)["COMPLETED"] == "2+"
    assert store.counts(collections="c1", workflow="w1", error_prefix="Err")["FAILED"] == 3


def test_events_stats_and_the_outbox_go_to_the_events_table(store: DynamoStateStore) -> None:
    note = Follow("notify", b'{"attributes": {"error": "X"}}', "failed", record=True)
    store.claim_and_start(PID, ARN + "a")
    store.apply(
        [
            Transition(
                Transition.fail(PID, "X: y", ARN + "a").action,
                PID,
                ARN + "a",
                error="X: y",
                follow=(note,),
            )
        ]
    )
    events = store.events(PID)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, State.PROCESSING),
        (State.PROCESSING, State.FAILED),
    ]
    assert events[1].error == "X: y" and events[1].execution_id == ARN + "a"
    assert store.events(PID, after=1) == events[1:]
    today = store.stats()["state_transitions"]["daily"][-1]
    assert {s["state"]: s["count"] for s in today["states"]}["FAILED"] == 1
    rows = store.outbox()
    assert [(r.payload_id, r.kind, r.topic) for r in rows] == [(PID, "notify", "failed")]
    import orjson

    body = orjson.loads(rows[0].body)
    assert body["message"]["state"] == "FAILED" and body["attributes"]["error"] == "X"
    assert body["attributes"]["workflow"] == "cog"
    assert store.outbox_done([rows[0].seq]) == 1 and store.outbox() == []


def test_without_an_events_table_stats_say_what_to_set(aws: Any, tables: tuple[str, str]) -> None:
    store = DynamoStateStore(tables[0])
    store.claim_and_start(PID, ARN + "a")
    assert store.events(PID) == []
    with pytest.raises(StateStoreError, match="CIRRO_EVENTS_TABLE"):
        store.stats()
    with pytest.raises(StateStoreError, match="CIRRUS_STATE_DB"):
        DynamoStateStore("")


def test_stats_bins_days_and_hours_and_reads_a_closed_day_once(
    aws: Any, tables: tuple[str, str]
) -> None:
    clock = [datetime(2026, 3, 10, 22, 30, tzinfo=UTC)]
    store = DynamoStateStore(tables[0], events_table=tables[1], now=lambda: clock[0])
    for i in range(3):  # day 1, 22:30: three payloads fail, one twice
        pid = f"c/workflow-w/d1-{i}"
        store.claim_and_start(pid, ARN + f"d1-{i}")
        store.fail(pid, "E: x", ARN + f"d1-{i}")
    store.claim_and_start("c/workflow-w/d1-0", ARN + "again")
    store.fail("c/workflow-w/d1-0", "E: y", ARN + "again")
    clock[0] = datetime(2026, 3, 11, 9, 15, tzinfo=UTC)  # day 2: one completes
    store.claim_and_start("c/workflow-w/d2", ARN + "d2")
    store.complete("c/workflow-w/d2", ARN + "d2")

    def counts(bin_: dict[str, Any]) -> dict[str, tuple[int, int]]:
        return {s["state"]: (s["count"], s["unique_count"]) for s in bin_["states"] if s["count"]}

    first = store.stats()["state_transitions"]
    assert [b["period"] for b in first["daily"][-2:]] == ["2026-03-10", "2026-03-11"]
    assert counts(first["daily"][-2]) == {"PROCESSING": (4, 3), "FAILED": (4, 3)}
    assert counts(first["daily"][-1]) == {"PROCESSING": (1, 1), "COMPLETED": (1, 1)}
    assert len(first["daily"]) == 60 and len(first["hourly"]) == 36
    by_hour = {b["period"]: counts(b) for b in first["hourly"] if counts(b)}
    assert by_hour == {
        "2026-03-10T22:00:00Z": {"PROCESSING": (4, 3), "FAILED": (4, 3)},
        "2026-03-11T09:00:00Z": {"PROCESSING": (1, 1), "COMPLETED": (1, 1)},
    }
    assert counts(first["hourly_rolling"][1]) == {"PROCESSING": (1, 1), "COMPLETED": (1, 1)}
    assert counts(first["hourly_rolling"][0]) == {}
    # day 1 is over: summarized once; its transition items are no longer read
    dynamo = aws("dynamodb")
    day1 = dynamo.query(
        TableName=tables[1],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "day#2026-03-10"}},
    )["Items"]
    for item in day1:
        dynamo.delete_item(TableName=tables[1], Key={"pk": item["pk"], "sk": item["sk"]})
    assert store.stats()["state_transitions"] == first
