"""The api and feed_rerun handlers on a moto deployment's state table."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrostratus.aws.handlers import api, env, feed_rerun

ARN = "arn:aws:states:us-east-1:123456789012:execution:stack-wf1:"


@pytest.fixture
def records(deployment: Any) -> list[str]:
    """c1/workflow-wf1/item-0..4: even COMPLETED, odd FAILED; their inputs stored."""
    states, payloads = env.state_store(), env.payload_store()
    ids = [f"c1/workflow-wf1/item-{i}" for i in range(5)]
    for i, pid in enumerate(ids):
        states.claim_and_start(pid, f"{ARN}{i}")
        if i % 2:
            states.fail(pid, f"TaskError: broke {i}", f"{ARN}{i}")
        else:
            states.complete(pid, f"{ARN}{i}")
        payloads.put_bytes(f"{pid}/input.json", json.dumps({"id": pid}).encode())
    return ids


def get(path: str, stage: str | None = "dev", **params: str) -> tuple[int, Any]:
    event = {
        "path": f"/{stage}{path}" if stage else path,
        "httpMethod": "GET",
        "queryStringParameters": params or None,
        "requestContext": {"stage": stage, "domainName": "api.example.com"} if stage else {},
    }
    answer = api.lambda_handler(event, None)
    assert answer["headers"]["Access-Control-Allow-Origin"] == "*"
    return answer["statusCode"], json.loads(answer["body"])


def test_summary_items_and_a_payload(records: list[str]) -> None:
    status, summary = get("/c1/workflow-wf1")
    assert status == 200
    assert summary["counts"]["COMPLETED"] == 3 and summary["counts"]["FAILED"] == 2
    assert get("/c1/workflow-wf1", limit="1")[1]["counts"]["COMPLETED"] == "1+"
    status, page = get("/c1/workflow-wf1/items", state="FAILED")
    assert status == 200
    assert sorted(i["payload_id"] for i in page["items"]) == [records[1], records[3]]
    first = get("/c1/workflow-wf1/items", limit="2")[1]
    rest = get("/c1/workflow-wf1/items", limit="10", nextkey=first["nextkey"])[1]
    assert sorted(i["payload_id"] for i in first["items"] + rest["items"]) == sorted(records)
    status, one = get(f"/{records[1]}")
    assert status == 200 and one["catid"] == records[1] and one["state"] == "FAILED"
    assert one["last_error"] == "TaskError: broke 1"
    assert one["catalog"].endswith(f"{records[1]}/input.json")
    status, old = get(f"/item/{records[1]}")
    assert (
        status == 200
        and old["current_state"].startswith("FAILED_")
        and old["error_message"] == one["last_error"]
    )


def test_root_stats_and_errors(deployment: Any, records: list[str]) -> None:
    catalog = {"id": "demo", "description": "Demo", "cirrus": {"workflows": {"c1": ["wf1"]}}}
    deployment.client("s3").put_object(
        Bucket=deployment.data_bucket, Key="catalog.json", Body=json.dumps(catalog).encode()
    )
    status, root = get("/")
    assert (
        status == 200 and root["id"] == "demo-state-api" and root["description"] == "Demo State API"
    )
    children = [ln for ln in root["links"] if ln["rel"] == "child"]
    assert [ln["href"] for ln in children] == ["https://api.example.com/dev/c1/workflow-wf1"]
    status, stats = get("/stats")
    assert status == 200
    today = stats["state_transitions"]["daily"][-1]["states"]
    assert {s["state"]: s["count"] for s in today}["FAILED"] == 2
    assert get("/nothing-here", stage=None) == (400, "nothing-here not found")
    assert get("/c1/workflow-wf1/absent")[0] == 404
    assert get("/c1/workflow-wf1/items", state="NOPE")[0] == 400


def test_stats_without_an_events_table_is_cirrus_404(
    records: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CIRRO_EVENTS_TABLE")
    status, body = get("/stats")
    assert status == 404 and "not enabled" in body["error"]


def test_feed_rerun_queues_the_inputs_of_what_matches(deployment: Any, records: list[str]) -> None:
    answer = feed_rerun.lambda_handler(
        {"collections": "c1", "workflow": "wf1", "state": "failed"}, None
    )
    assert answer == {"found": 2}
    bodies = [json.loads(m["Body"]) for m in deployment.queued()]
    bucket = deployment.payload_bucket
    assert sorted(b["url"] for b in bodies) == [
        f"s3://{bucket}/{records[1]}/input.json",
        f"s3://{bucket}/{records[3]}/input.json",
    ]
    assert feed_rerun.lambda_handler(
        {"collections": "c1", "workflow": "wf1", "limit": 3}, None
    ) == {"found": 3}
    with pytest.raises(ValueError, match="collections"):
        feed_rerun.lambda_handler({"workflow": "wf1"}, None)
