"""`cirro api --deployment`: the same routes over a deployment's DynamoDB state table (Cirrus
0.9's schema), its events table, its ProcessQueue and Step Functions, on moto's server.

Two deployments share one moto server: `ours` (state + events tables, as `cirro deploy`
makes) and `cirrus09` (a state table only, as a Cirrus 0.9 stack whose events went to
Timestream).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from .conftest import AUTH, TOKEN, make_payload

pytest.importorskip("moto")

REGION = "us-east-1"
C = "test-collection"
DONE = f"{C}/workflow-mirror/d1"
BROKEN = f"{C}/workflow-mirror/b1"
OTHER = f"{C}/workflow-crash/x1"
TASK = "arn:aws:lambda:us-east-1:123456789012:function:ours-mirror-task"


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    sys.path.insert(0, str(Path(__file__).parents[1] / "aws"))  # its moto_process helper
    from moto_process import moto_server

    with moto_server() as url:
        mp = pytest.MonkeyPatch()
        env = {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "CIRRO_CONFIG_DIR": str(tmp_path_factory.mktemp("config")),
        }
        for key, value in env.items():
            mp.setenv(key, value)
        try:
            yield env
        finally:
            mp.undo()


@pytest.fixture(scope="module")
def deployed(aws_env: dict[str, Any]) -> dict[str, Any]:
    """Both deployments, with records written by our DynamoStateStore (5 s in the past, so
    the event stream, which waits a second for stragglers, hands them out at once)."""
    import boto3

    from cirrostratus.aws.deployments import Deployment, save
    from cirrostratus.state import utcnow
    from cirrostratus.state.dynamodb import DynamoStateStore
    from cirrostratus.state.dynamodb_schema import create_tables

    session = boto3.session.Session(region_name=REGION)
    dynamodb, sqs, sfn = (session.client(s) for s in ("dynamodb", "sqs", "stepfunctions"))
    create_tables(dynamodb, "ours-state", "ours-events")
    create_tables(dynamodb, "old-state")
    queue = sqs.create_queue(QueueName="ours-process")["QueueUrl"]
    machine = sfn.create_state_machine(
        name="ours-mirror",
        definition=json.dumps(
            {"StartAt": "t", "States": {"t": {"Type": "Task", "Resource": TASK, "End": True}}}
        ),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]

    def start(payload: dict[str, Any]) -> str:
        return str(
            sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
        )

    def past() -> Any:
        return utcnow() - timedelta(seconds=5)

    ours = DynamoStateStore("ours-state", events_table="ours-events", session=session, now=past)
    old = DynamoStateStore("old-state", session=session)
    inputs = {
        pid: make_payload(pid.split("/")[1][9:], pid.rsplit("/", 1)[1])
        for pid in (DONE, BROKEN, OTHER)
    }
    arns = {}
    for store in (ours, old):
        for pid, payload in inputs.items():
            arns[pid] = arn = start(payload)
            store.claim_and_start(pid, arn)
        store.complete(DONE, arns[DONE], ["s3://data/d1.json"])
        store.fail(BROKEN, "TaskError: it broke", arns[BROKEN])
    logs = session.client("logs")  # what the mirror task's Lambda wrote while they ran
    logs.create_log_group(logGroupName="/aws/lambda/ours-mirror-task")
    logs.create_log_stream(logGroupName="/aws/lambda/ours-mirror-task", logStreamName="s1")
    now_ms = int(time.time() * 1000) + 1000
    lines = [f"[ERROR] {BROKEN} RuntimeError: it broke", f"[INFO] {DONE} mirrored 1 item"]
    logs.put_log_events(
        logGroupName="/aws/lambda/ours-mirror-task",
        logStreamName="s1",
        logEvents=[{"timestamp": now_ms + i, "message": m} for i, m in enumerate(lines)],
    )
    common = {
        "CIRRUS_PROCESS_QUEUE_URL": queue,
        "CIRRUS_PAYLOAD_BUCKET": "payloads",
        "CIRRUS_DATA_BUCKET": "data",
    }
    save(
        Deployment(
            "ours",
            "ours-dev",
            REGION,
            environment={
                "CIRRUS_STATE_DB": "ours-state",
                "CIRRO_EVENTS_TABLE": "ours-events",
                **common,
            },
        )
    )
    save(
        Deployment(
            "cirrus09", "old-dev", REGION, environment={"CIRRUS_STATE_DB": "old-state", **common}
        )
    )
    return {"queue": queue, "sqs": sqs, "inputs": inputs}


def client(name: str) -> Any:
    from fastapi.testclient import TestClient

    from cirrostratus.api.app import create_app
    from cirrostratus.cli.api import deployment_backend

    return TestClient(create_app(deployment_backend(name, TOKEN)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def api(deployed: dict[str, Any]) -> Any:
    return client("ours")


def drain(deployed: dict[str, Any]) -> list[dict[str, Any]]:
    sqs, url = deployed["sqs"], deployed["queue"]
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_root_lists_each_workflow_of_the_table(api: Any) -> None:
    body = api.get("/").json()
    assert body["id"] == "ours-state-api"
    children = [link["title"] for link in body["links"] if link["rel"] == "child"]
    assert children == [f"{C} - crash", f"{C} - mirror"]
    assert body["links"][-1] == {
        "title": "STAC",
        "rel": "stac",
        "type": "application/json",
        "href": "s3://data/catalog.json",
    }


def test_counts_items_and_records_have_cirrus_shapes(api: Any) -> None:
    summary = api.get(f"/{C}/workflow-mirror").json()
    assert summary["collections"] == C and summary["workflow"] == "mirror"
    assert summary["counts"]["COMPLETED"] == 1 and summary["counts"]["FAILED"] == 1
    assert summary["counts"]["PROCESSING"] == 0
    failed = api.get(f"/{C}/workflow-mirror/items", params={"state": "FAILED"}).json()
    (item,) = failed["items"]
    assert item["payload_id"] == BROKEN and item["catid"] == BROKEN
    assert item["last_error"] == "TaskError: it broke"
    assert item["catalog"] == f"s3://payloads/{BROKEN}/input.json"
    first = api.get(f"/{C}/workflow-mirror/items", params={"limit": 1}).json()
    rest = api.get(
        f"/{C}/workflow-mirror/items", params={"limit": 1, "nextkey": first["nextkey"]}
    ).json()
    assert {first["items"][0]["payload_id"], rest["items"][0]["payload_id"]} == {DONE, BROKEN}
    record = api.get(f"/{DONE}").json()
    assert record["state"] == "COMPLETED" and record["outputs"] == ["s3://data/d1.json"]
    legacy = api.get(f"/item/{BROKEN}").json()
    assert (
        legacy["current_state"].startswith("FAILED_")
        and legacy["error_message"] == "TaskError: it broke"
    )
    assert api.get(f"/{C}/workflow-mirror/nope").status_code == 404


def test_stats_and_history_come_from_the_events_table(api: Any) -> None:
    stats = api.get("/stats").json()["state_transitions"]
    assert len(stats["daily"]) == 60 and len(stats["hourly"]) == 36
    today = {s["state"]: s for s in stats["daily"][-1]["states"]}
    assert today["COMPLETED"]["count"] == 1 and today["FAILED"]["unique_count"] == 1
    assert today["PROCESSING"]["count"] == 3 and today["ABORTED"]["count"] == 0
    spans = api.get(f"/{BROKEN}/history").json()["spans"]
    assert [s["state"] for s in spans] == ["PROCESSING", "FAILED"]  # claimed and started at once
    assert spans[-1]["error"] == "TaskError: it broke"


def test_stats_without_an_events_table_say_so(deployed: dict[str, Any]) -> None:
    old = client("cirrus09")
    response = old.get("/stats")
    assert response.status_code == 404
    assert (
        "not enabled" in response.json()["error"]
        and "CIRRO_EVENTS_TABLE" in response.json()["error"]
    )
    assert old.get(f"/{C}/workflow-mirror").json()["counts"]["FAILED"] == 1
    assert old.get(f"/{BROKEN}/history").json()["spans"] == []


def test_input_from_step_functions_and_logs_point_elsewhere(
    api: Any, deployed: dict[str, Any]
) -> None:
    assert api.get(f"/{BROKEN}/input").json() == deployed["inputs"][BROKEN]
    assert api.get(f"/{C}/workflow-mirror/zz/input").status_code == 404
    logs = api.get(f"/{BROKEN}/logs")
    assert logs.headers["content-type"].startswith("application/x-ndjson")
    rows = [orjson.loads(line) for line in logs.text.splitlines()]
    assert [r["message"] for r in rows] == [f"[ERROR] {BROKEN} RuntimeError: it broke"]
    assert rows[0]["function"] == "ours-mirror-task" and rows[0]["stream"] == "s1"
    assert api.get("/asset", params={"href": "file:///etc/passwd"}).status_code == 501


def test_events_stream_the_events_table(api: Any) -> None:
    text = api.get("/events", params={"after": 0, "limit": 5}).text
    data = [orjson.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert len(data) == 5  # each record claimed and started, then a COMPLETED and a FAILED
    assert sorted(e["to"] for e in data).count("PROCESSING") == 3
    assert [e["seq"] for e in data] == sorted(e["seq"] for e in data)
    one = api.get("/events", params={"after": 0, "limit": 2, "payload_id": DONE}).text
    mine = [orjson.loads(line[6:]) for line in one.splitlines() if line.startswith("data: ")]
    assert [e["to"] for e in mine] == ["PROCESSING", "COMPLETED"]
    resumed = api.get("/events", params={"after": mine[0]["seq"], "limit": 1, "payload_id": DONE})
    assert f"id: {mine[1]['seq']}" in resumed.text


def test_metrics_read_the_table_and_the_queue(api: Any) -> None:
    text = api.get("/metrics").text
    assert 'cirro_payloads{state="COMPLETED"} 1' in text
    assert 'cirro_payloads{state="FAILED"} 1' in text
    assert 'cirro_payloads{state="PROCESSING"} 1' in text
    assert 'cirro_intake_messages{status="visible"}' in text
    rate = [
        line
        for line in text.splitlines()
        if line.startswith('cirro_transitions_per_second{state="FAILED"}')
    ]
    assert rate and float(rate[0].split()[-1]) > 0


def test_submit_and_rerun_go_to_the_process_queue(api: Any, deployed: dict[str, Any]) -> None:
    drain(deployed)
    payload = make_payload("mirror", "new1")
    assert api.post("/payloads", content=orjson.dumps(payload)).status_code == 401
    sent = api.post("/payloads", content=orjson.dumps(payload), headers=AUTH)
    assert sent.status_code == 202 and sent.json()["payload_ids"] == [f"{C}/workflow-mirror/new1"]
    rerun = api.post("/rerun", json={"payload_ids": [BROKEN]}, headers=AUTH)
    assert rerun.status_code == 202 and rerun.json()["queued"] == [BROKEN]
    bodies = drain(deployed)
    assert bodies[0] == payload
    again = bodies[1]
    assert again["features"] == deployed["inputs"][BROKEN]["features"]
    assert again["process"]["replace"] is True
    by_filter = api.post("/rerun", json={"state": "FAILED", "dry_run": True}, headers=AUTH).json()
    assert by_filter["would_queue"] == [BROKEN] and drain(deployed) == []


def test_cli_refuses_an_unknown_deployment(deployed: dict[str, Any]) -> None:
    from cirrostratus.cli import cli
    from cirrostratus.cli.errors import CliError

    result = CliRunner().invoke(cli, ["api", "--deployment", "nope", "--port", "0"])
    assert isinstance(result.exception, CliError) and result.exception.exit_code == 2
    assert "no deployment named 'nope'" in str(result.exception)


def test_the_same_shapes_as_over_a_local_project(api: Any, client: Any) -> None:
    """Field by field, a deployment's answers are shaped as a local project's."""
    local = client.get("/test-collection/workflow-mirror/m1").json()
    remote = api.get(f"/{DONE}").json()
    assert set(remote) == set(local)
    assert set(remote["executions"][0]) == set(local["executions"][0])
    assert set(api.get(f"/item/{DONE}").json()) == set(
        client.get("/item/test-collection/workflow-mirror/m1").json()
    )
    page = api.get(f"/{C}/workflow-mirror/items").json()
    assert set(page) == {"items", "nextkey"}
    remote_stats, local_stats = api.get("/stats").json(), client.get("/stats").json()
    for kind in ("daily", "hourly", "hourly_rolling"):
        mine, theirs = (
            remote_stats["state_transitions"][kind],
            local_stats["state_transitions"][kind],
        )
        assert len(mine) == len(theirs) and set(mine[0]) == set(theirs[0])
        assert [s["state"] for s in mine[0]["states"]] == [s["state"] for s in theirs[0]["states"]]
    assert set(api.get("/overview").json()) == set(client.get("/overview").json())


def test_cirro_api_serves_the_deployment(deployed: dict[str, Any]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cirrostratus", "api", "--deployment", "ours", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "CIRRO_API_TOKEN": TOKEN},
    )
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()
        found = re.search(r"state API on (http://127\.0\.0\.1:\d+/)", line)
        assert found, line
        counts = httpx.get(found.group(1) + f"{C}/workflow-mirror", timeout=30).json()["counts"]
        assert counts["COMPLETED"] == 1 and counts["FAILED"] == 1
    finally:
        proc.terminate()
        proc.wait(30)
