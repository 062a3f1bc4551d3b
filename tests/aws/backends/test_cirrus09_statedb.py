"""Cirrus 0.9's own StateDB against our DynamoStateStore, on one table (opt-in).

Cirrus is not a dependency, so this runs only when `CIRRUS09_PATH` names a folder holding
cirrus-geo 0.9.0 (its code alone, no dependencies):

    pip install --no-deps --target /tmp/cirrus09 cirrus-geo==0.9.0
    CIRRUS09_PATH=/tmp/cirrus09 .venv/bin/pytest -q -n 0 tests/aws/backends/test_cirrus09_statedb.py

test_dynamodb_state.py checks the same schema without Cirrus (its update expressions
written out); this checks it with Cirrus's own reader and writers.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from cirrostratus.state import State
from cirrostratus.state.dynamodb import DynamoStateStore

ARN = "arn:aws:states:us-east-1:123456789012:execution:stack-cog:"
PID = "sentinel-2-l2a/workflow-cog/S2A_1_20240101_0_L2A"
CW = "sentinel-2-l2a_cog"


@pytest.fixture
def cirrus(aws: Any, tables: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    path = os.environ.get("CIRRUS09_PATH")
    if not path:
        pytest.skip("set CIRRUS09_PATH to a folder with cirrus-geo 0.9.0 (see the docstring)")
    monkeypatch.syspath_prepend(path)
    monkeypatch.delenv("CIRRUS_EVENT_DB_AND_TABLE", raising=False)
    monkeypatch.setenv("CIRRUS_PAYLOAD_BUCKET", "payloads")
    sys.modules.pop("cirrus", None)
    from cirrus.lib2.statedb import StateDB

    return StateDB(tables[0])


def test_cirrus_reads_what_we_write(cirrus: Any, tables: tuple[str, str]) -> None:
    ours = DynamoStateStore(tables[0])
    ours.claim_and_start(PID, ARN + "1")
    ours.complete(PID, ARN + "1", ["s3://data/a.json"])
    other = "sentinel-2-l2a/workflow-cog/S2B_2"
    ours.claim_and_start(other, ARN + "2")
    ours.fail(other, "TaskError: boom", ARN + "2")

    item = cirrus.dbitem_to_item(cirrus.get_dbitem(PID))
    assert item["payload_id"] == PID and item["state"] == "COMPLETED"
    assert item["outputs"] == ["s3://data/a.json"]
    assert item["executions"][0].endswith(ARN + "1")
    assert cirrus.get_state(PID) == "COMPLETED"
    assert cirrus.get_states([PID, other]) == {PID: "COMPLETED", other: "FAILED"}
    failed = cirrus.get_items(CW, state="FAILED", since="1d")
    assert [i["payload_id"] for i in failed] == [other]
    assert failed[0]["last_error"] == "TaskError: boom"
    assert cirrus.get_counts(CW, state="COMPLETED") == 1
    assert cirrus.get_counts(CW, since="1h") == 2
    page = cirrus.get_items_page(CW, limit=1)
    rest = cirrus.get_items_page(CW, limit=1, nextkey=page["nextkey"])
    assert {page["items"][0]["payload_id"], rest["items"][0]["payload_id"]} == {PID, other}
    # Cirrus reruns our COMPLETED record (process with replace)
    cirrus.claim_processing(PID)
    cirrus.set_processing(PID, ARN + "3")
    rec = ours.get(PID)
    assert rec is not None and rec.state is State.PROCESSING
    assert [e.id for e in rec.executions] == [ARN + "1", ARN + "3"]


def test_we_read_what_cirrus_writes(cirrus: Any, tables: tuple[str, str]) -> None:
    cirrus.claim_processing(PID)
    cirrus.set_processing(PID, ARN + "1")
    ours = DynamoStateStore(tables[0])
    assert ours.get_states([PID]) == {PID: State.PROCESSING}
    # our update-state finishes Cirrus's execution
    assert ours.invalidate(PID, "InvalidInput: bad", ARN + "1").applied
    assert cirrus.get_state(PID) == "INVALID"
    cirrus.set_outputs(PID, ["s3://data/b.json"])
    cirrus.set_aborted(PID)
    rec = ours.get(PID)
    assert rec is not None and rec.state is State.ABORTED
    assert rec.outputs == ("s3://data/b.json",) and rec.last_error == "InvalidInput: bad"
    assert ours.counts(collections="sentinel-2-l2a", workflow="cog")["ABORTED"] == 1
    assert ours.claim_and_start(PID, ARN + "2").applied  # ABORTED runs again
