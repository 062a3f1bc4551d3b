"""process and update_state handlers on a moto deployment: SQS batch → Step Functions →
status change → the record in Cirrus's schema, chaining and notifications."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from cirrostratus.aws.handlers import env, update_state
from cirrostratus.aws.handlers import process as process_handler
from cirrostratus.payload import Payload

ROLE = "arn:aws:iam::123456789012:role/stepfunctions"


class FailingFor:
    """A payload store that refuses the input of one payload id."""

    def __init__(self, inner: Any, bad: str) -> None:
        self.inner, self.bad = inner, bad
        self.concurrent_writes = False

    def put_bytes(self, key: str, data: bytes) -> str:
        if key.startswith(self.bad):
            raise OSError("bucket unavailable")
        return str(self.inner.put_bytes(key, data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def raw_record(dep: Any, collections_workflow: str, itemids: str) -> dict[str, Any]:
    import boto3

    table = boto3.resource("dynamodb", endpoint_url=dep.client("dynamodb").meta.endpoint_url).Table(
        dep.state_table
    )
    item = table.get_item(
        Key={"collections_workflow": collections_workflow, "itemids": itemids}
    ).get("Item")
    assert item is not None
    return dict(item)


def status_event(dep: Any, arn: str, status: str, data: dict[str, Any], **detail: Any) -> dict:
    return {
        "version": "0",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {
            "executionArn": arn,
            "stateMachineArn": arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
            "status": status,
            "input": json.dumps(data),
            **detail,
        },
    }


def test_process_starts_workflows_and_reports_only_retryable_failures(
    deployment: Any, make_payload: Any, make_sqs_event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = env.payload_store()
    monkeypatch.setattr(env, "payload_store", lambda: FailingFor(store, "c1/workflow-wf1/b"))
    event = make_sqs_event(
        make_payload(item="a"),  # starts
        make_payload(item="b"),  # its input cannot be stored: delivered again
        "not json",  # invalid: to the dead-letter queue, not retried
        make_payload(workflow="nope", item="c"),  # no state machine: FAILED, not retried
    )
    answer = process_handler.lambda_handler(event, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}

    states = env.state_store()
    started = states.get("c1/workflow-wf1/a")
    assert started is not None and str(started.state) == "PROCESSING"
    arn = started.executions[-1].id
    assert arn.startswith(deployment.base_arn.replace(":stateMachine:", ":execution:") + "wf1:")
    described = deployment.client("stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(described["input"]) == Payload.from_dict(make_payload(item="a")).to_dict()
    raw = raw_record(deployment, "c1_wf1", "a")
    assert raw["executions"] == [arn] and raw["state_updated"].startswith("PROCESSING_")

    assert str(states.get("c1/workflow-wf1/b").state) == "FAILED"  # type: ignore[union-attr]
    nope = states.get("c1/workflow-nope/c")
    assert nope is not None and (nope.last_error or "").startswith("WorkflowNotFound")
    (dead,) = deployment.queued(deployment.dead_queue)
    assert dead["Body"] == "not json"
    assert "not JSON" in dead["MessageAttributes"]["error"]["StringValue"]


def _started(deployment: Any, data: dict[str, Any]) -> str:
    process_handler.lambda_handler(data, None)  # a direct invocation
    rec = env.state_store().get(Payload.from_dict(data).id)
    assert rec is not None
    return str(rec.executions[-1].id)


def test_succeeded_completes_the_record_and_chains_the_next_payload(
    deployment: Any, make_payload: Any
) -> None:
    first = make_payload(item="a")
    nxt = make_payload(workflow="wf1", item="a")["process"]
    chained = {**first, "process": [first["process"], {**nxt, "workflow": "wf2"}]}
    arn = _started(deployment, chained)
    output = json.loads(json.dumps(chained))
    url = f"s3://{deployment.data_bucket}/c1/a/a.json"
    output["features"][0]["links"] = [{"rel": "self", "href": url}]
    event = status_event(deployment, arn, "SUCCEEDED", chained, output=json.dumps(output))
    (result,) = update_state.lambda_handler(event, None)
    assert result["applied"] and result["state"] == "COMPLETED"
    assert result["next_payloads"] == ["c1/workflow-wf2/a"]
    raw = raw_record(deployment, "c1_wf1", "a")
    assert raw["state_updated"].startswith("COMPLETED_")
    assert raw["executions"] == [arn] and raw["outputs"] == [url]
    (msg,) = deployment.queued()
    process = json.loads(msg["Body"])["process"]
    assert (process[0] if isinstance(process, list) else process)["workflow"] == "wf2"
    # the same event again (EventBridge delivers at least once): nothing changes
    (again,) = update_state.lambda_handler(event, None)
    assert not again["applied"] and deployment.queued() == []


@pytest.fixture
def executing(moto_url: str) -> Iterator[None]:
    """moto runs state machines (its ASL interpreter) while the test runs. Its executing
    backend keeps its own state machines: request this before `deployment`."""

    def config(on: bool) -> None:
        body = json.dumps({"stepfunctions": {"execute_state_machine": on}}).encode()
        request = urllib.request.Request(f"{moto_url}/moto-api/config", body, method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    config(True)
    try:
        yield
    finally:
        config(False)


def test_failed_reads_the_error_from_the_history_classifies_and_announces(
    executing: None, deployment: Any, make_payload: Any
) -> None:
    # Cirrus's recommended shape: the error caught into $.error, then a Fail state
    sfn = deployment.client("stepfunctions")
    error = {
        "Error": "stactask.exceptions.InvalidInput",
        "Cause": json.dumps({"errorMessage": "no assets"}),
    }
    definition = {
        "StartAt": "task",
        "States": {
            "task": {"Type": "Pass", "Result": error, "ResultPath": "$.error", "Next": "failure"},
            "failure": {"Type": "Fail"},
        },
    }
    name = deployment.base_arn.split(":stateMachine:")[1] + "wfbad"
    sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    data = make_payload(workflow="wfbad", item="bad")
    arn = _started(deployment, data)
    for _ in range(100):
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert sfn.describe_execution(executionArn=arn)["status"] == "FAILED"
    (result,) = update_state.lambda_handler(status_event(deployment, arn, "FAILED", data), None)
    assert result["state"] == "INVALID"
    assert result["error"] == "stactask.exceptions.InvalidInput: no assets"
    raw = raw_record(deployment, "c1_wfbad", "bad")
    assert raw["state_updated"].startswith("INVALID_") and raw["last_error"] == result["error"]
    (note,) = deployment.received("invalid")
    assert json.loads(note["Message"])["payload_id"] == "c1/workflow-wfbad/bad"
    assert note["MessageAttributes"]["error"]["Value"] == result["error"]
    assert note["MessageAttributes"]["workflow"]["Value"] == "wfbad"
    assert deployment.received("failed") == []


def test_error_from_history_follows_cirrus_order() -> None:
    lam = {"lambdaFunctionFailedEventDetails": {"error": "TaskError", "cause": "boom"}}
    assert update_state.error_from_history([lam]) == ("TaskError", "boom")
    entered = {"stateEnteredEventDetails": {"input": json.dumps({"error": {"Error": "E"}})}}
    assert update_state.error_from_history([lam, entered]) == ("E", "")
    assert update_state.error_from_history([{"stateEnteredEventDetails": {"input": "{}"}}]) is None


def test_timed_out_and_unknown_events(deployment: Any, make_payload: Any) -> None:
    data = make_payload(item="slow")
    arn = _started(deployment, data)
    (result,) = update_state.lambda_handler(status_event(deployment, arn, "TIMED_OUT", data), None)
    assert result["error"] == "TimedOutError: The step function execution timed out."
    assert result["state"] == "FAILED"
    assert len(deployment.received("failed")) == 1
    with pytest.raises(ValueError, match="Unknown event"):
        update_state.lambda_handler({"detail": {}}, None)


def test_a_payload_through_the_queue_to_a_completed_record(
    executing: None, deployment: Any, make_payload: Any
) -> None:
    """SQS message → process → Step Functions runs it → its status change → COMPLETED."""
    sqs, sfn = deployment.client("sqs"), deployment.client("stepfunctions")
    sqs.send_message(QueueUrl=deployment.queue, MessageBody=json.dumps(make_payload(item="e2e")))
    got = sqs.receive_message(QueueUrl=deployment.queue, AttributeNames=["All"])["Messages"]
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "eventSource": "aws:sqs",
        }
        for m in got
    ]
    assert process_handler.lambda_handler({"Records": records}, None) == {"batchItemFailures": []}
    pid = "c1/workflow-wf1/e2e"
    rec = env.state_store().get(pid)
    assert rec is not None and str(rec.state) == "PROCESSING", rec
    arn = rec.executions[-1].id
    for _ in range(100):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED"
    event = status_event(
        deployment,
        arn,
        described["status"],
        json.loads(described["input"]),
        output=described["output"],
    )
    (result,) = update_state.lambda_handler(event, None)
    assert result["state"] == "COMPLETED"
    page = env.state_store().query(collections="c1", workflow="wf1", state="COMPLETED")
    assert [r.payload_id for r in page.items] == [pid]
    assert raw_record(deployment, "c1_wf1", "e2e")["executions"] == [arn]


@pytest.mark.parametrize("lease, runs", [(0.0, True), (30.0, False)])
def test_a_claim_left_by_a_dead_lambda_is_taken_over_once_its_lease_ends(
    deployment: Any,
    make_payload: Any,
    make_sqs_event: Any,
    monkeypatch: pytest.MonkeyPatch,
    lease: float,
    runs: bool,
) -> None:
    monkeypatch.setattr(env, "CLAIM_LEASE_SECONDS", lease)
    dead = deployment.base_arn.replace(":stateMachine:", ":execution:") + "wf1:dead"
    env.state_store().claim("c1/workflow-wf1/a", dead)  # the Lambda died before starting it
    assert process_handler.lambda_handler(make_sqs_event(make_payload(item="a")), None) == {
        "batchItemFailures": []
    }
    rec = env.state_store().get("c1/workflow-wf1/a")
    assert rec is not None
    assert (str(rec.state), rec.executions[-1].id != dead) == (
        ("PROCESSING", True) if runs else ("CLAIMED", False)
    )


def test_a_start_that_may_succeed_later_is_delivered_again(
    deployment: Any, make_payload: Any, make_sqs_event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    client = env.runner().client
    original = client.start_execution

    def throttled(**kwargs: Any) -> Any:
        if not kwargs["stateMachineArn"].endswith("wf1"):
            return original(**kwargs)  # moto answers StateMachineDoesNotExist
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "x")

    monkeypatch.setattr(client, "start_execution", throttled)
    event = make_sqs_event(make_payload(item="a"), make_payload(workflow="nope", item="c"))
    answer = process_handler.lambda_handler(event, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}]}  # not the missing one
    rec = env.state_store().get("c1/workflow-wf1/a")
    assert rec is not None and str(rec.state) == "FAILED"
    assert "ThrottlingException" in (rec.last_error or "")
    monkeypatch.setattr(client, "start_execution", original)
    redelivered = make_sqs_event(make_payload(item="a"))
    assert process_handler.lambda_handler(redelivered, None) == {"batchItemFailures": []}
    assert str(env.state_store().get("c1/workflow-wf1/a").state) == "PROCESSING"  # type: ignore[union-attr]
