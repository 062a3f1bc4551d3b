"""The deployed path end to end on moto: `submit --deployment` → the ProcessQueue → the process
handler → a Step Functions execution with the payload as input → the update-state handler on
its status-change event → the record in Cirrus's schema → `query` / `payload state
--deployment` show it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import cirro


def _clear_handler_caches() -> None:
    """The handlers cache clients per process; another test folder's moto may be cached."""
    from cirrostratus.aws.handlers import env

    for value in vars(env).values():
        if isinstance(value, functools._lru_cache_wrapper):
            value.cache_clear()


def test_submitted_payload_runs_through_the_deployed_handlers(
    deployed: dict[str, Any],
    config_dir: Path,
    aws: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cirrostratus.aws.handlers import process, update_state

    cirro("deployments", "add", "e2e", "--stack", deployed["stack"])
    environment = json.loads(cirro("deployments", "show", "e2e").output)["environment"]
    for key, value in environment.items():  # what the stack gave its functions
        monkeypatch.setenv(key, value)
    _clear_handler_caches()

    payload = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": "pipe-1", "collection": "p1", "properties": {}}],
        "process": [{"workflow": "publish-only", "upload_options": {}}],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(payload))
    cirro("submit", "--deployment", "e2e", str(path))

    # the event source mapping's part: a batch from the ProcessQueue to the process handler
    sqs = aws("sqs")
    url = environment["CIRRUS_PROCESS_QUEUE_URL"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    mine = [
        m for m in messages if json.loads(m["Body"]).get("features", [{}])[0].get("id") == "pipe-1"
    ]
    assert len(mine) == 1
    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
            }
            for m in mine
        ]
    }
    assert process.lambda_handler(event, None) == {"batchItemFailures": []}

    pid = "p1/workflow-publish-only/pipe-1"
    shown = json.loads(cirro("payload", "state", "--deployment", "e2e", pid, "--json").output)
    assert shown["state"] == "PROCESSING"
    arn = shown["executions"][-1]["id"]
    assert ":execution:shared-dev-publish-only:" in arn  # the deployed state machine
    sfn = aws("stepfunctions")
    execution = sfn.describe_execution(executionArn=arn)
    sent = json.loads(execution["input"])
    assert sent["features"] == payload["features"] and sent["id"] == pid

    got = json.loads(cirro("payload", "get", "--deployment", "e2e", pid).output)
    assert got == sent  # the execution's input, from Step Functions
    no_output = cirro("payload", "get", "--output", "--deployment", "e2e", pid, code=1)
    assert "has no output" in str(no_output.exception)

    # EventBridge's part: the execution's status change to the update-state handler
    status = {
        "version": "0",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {
            "executionArn": arn,
            "stateMachineArn": execution["stateMachineArn"],
            "status": "SUCCEEDED",
            "input": execution["input"],
            "output": execution["input"],
        },
    }
    (result,) = update_state.lambda_handler(status, None)
    assert result["applied"] and result["state"] == "COMPLETED"

    listed = json.loads(
        cirro("query", "--deployment", "e2e", "--collections", "p1", "--json").output
    )
    assert [(r["payload_id"], r["state"]) for r in listed["items"]] == [(pid, "COMPLETED")]
    text = cirro("payload", "state", "--deployment", "e2e", pid).output
    assert "state:    COMPLETED" in text and arn in text

    # rerun --deployment: the execution's input again, with replace, to the ProcessQueue
    dry = json.loads(
        cirro("rerun", "--deployment", "e2e", "--collections", "p1", "--dry-run", "--json").output
    )
    assert dry == {"would_run": [pid], "skipped": []}
    assert (
        "1 payload sent to run again"
        in cirro("rerun", "--deployment", "e2e", "--collections", "p1").output
    )
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in again]
    rerun = [b for b in bodies if b.get("id") == pid]
    assert len(rerun) == 1 and rerun[0]["process"][0]["replace"] is True
    _clear_handler_caches()


def _lambda_side(aws: Any, environment: dict[str, str], wanted: str, stop: Any) -> None:
    """What AWS does between the queue and the record, for one payload id: the event source
    mapping hands the message to process; EventBridge hands the outcome to update-state."""
    from cirrostratus.aws.handlers import process, update_state

    sqs, sfn = aws("sqs"), aws("stepfunctions")
    url = environment["CIRRUS_PROCESS_QUEUE_URL"]
    while not stop.is_set():
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for m in got.get("Messages", []):
            if wanted in m["Body"]:
                break
        else:
            stop.wait(0.05)
            continue
        record = {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                  "body": m["Body"], "attributes": {"ApproximateReceiveCount": "1"}}  # fmt: skip
        process.lambda_handler({"Records": [record]}, None)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        arns = sfn.list_state_machines()["stateMachines"]
        arn = next(a["stateMachineArn"] for a in arns if a["name"] == "shared-dev-publish-only")
        (execution,) = [
            e
            for e in sfn.list_executions(stateMachineArn=arn)["executions"]
            if wanted in sfn.describe_execution(executionArn=e["executionArn"])["input"]
        ]
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        detail = {"executionArn": described["executionArn"], "stateMachineArn": arn,
                  "status": "SUCCEEDED", "input": described["input"],
                  "output": described["input"]}  # fmt: skip
        update_state.lambda_handler(
            {"detail-type": "Step Functions Execution Status Change", "source": "aws.states",
             "detail": detail}, None)  # fmt: skip
        return


def test_run_submits_and_follows_to_the_end(
    deployed: dict[str, Any],
    config_dir: Path,
    aws: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    cirro("deployments", "add", "e2e", "--stack", deployed["stack"])
    environment = json.loads(cirro("deployments", "show", "e2e").output)["environment"]
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    _clear_handler_caches()
    payload = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": "follow-1", "collection": "f1", "properties": {}}],
        "process": [{"workflow": "publish-only", "upload_options": {}}],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(payload))
    stop = threading.Event()
    failures: list[BaseException] = []

    def side() -> None:
        try:
            _lambda_side(aws, environment, "follow-1", stop)
        except BaseException as exc:  # surfaced below, not lost in the thread
            failures.append(exc)

    worker = threading.Thread(target=side)
    worker.start()
    try:
        args = ["run", "--deployment", "e2e", "--poll", "0.05", "--timeout", "30", str(path)]
        result = cirro(*args, code=None)
    finally:
        stop.set()
        worker.join()
    assert not failures, failures
    assert result.exit_code == 0, result.output
    assert "f1/workflow-publish-only/follow-1  COMPLETED" in result.output
    # a payload that never runs: reported as still waiting, exit 1
    late = cirro("run", "--deployment", "e2e", "--poll", "0.05", "--timeout", "0.2",
                 str(path), "--replace", code=1)  # fmt: skip
    assert "still not finished after 0.2 s" in late.output
    _clear_handler_caches()
