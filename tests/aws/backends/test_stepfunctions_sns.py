"""The Step Functions runner and the SNS notifier against moto's server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cirrostratus.engine.process import process
from cirrostratus.engine.sns import SnsNotifier, message_attributes
from cirrostratus.engine.stepfunctions import StepFunctionsRunner, WorkflowNotFound
from cirrostratus.payload import Payload
from cirrostratus.state import State
from cirrostratus.state.dynamodb import DynamoStateStore
from cirrostratus.storage import open_store

ROLE = "arn:aws:iam::123456789012:role/stepfunctions"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def payload(workflow: str, item: str = "a", **extra: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": item, "collection": "c1", "properties": {}}],
        "process": {"workflow": workflow, "upload_options": {}, "tasks": {}, **extra},
    }


@pytest.fixture
def base_arn(aws: Any, unique: str) -> str:
    sfn = aws("stepfunctions")
    arn = sfn.create_state_machine(name=f"{unique}-wf1", definition=PASS, roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn[: -len("wf1")]


def test_process_starts_the_execution_it_claimed_with_the_payload_as_input(
    aws: Any, tables: tuple[str, str], base_arn: str, tmp_path: Any
) -> None:
    store = DynamoStateStore(tables[0])
    runner = StepFunctionsRunner(base_arn)
    result = process(
        [payload("wf1"), payload("missing", "b")],
        store=store,
        payload_store=open_store(tmp_path),
        runner=runner,
        execution_for=runner.execution_for,
    )
    pid = "c1/workflow-wf1/a"
    assert result.started == [pid]
    arn = result.executions[pid]
    described = aws("stepfunctions").describe_execution(executionArn=arn)
    assert described["stateMachineArn"] == base_arn + "wf1"
    assert json.loads(described["input"]) == Payload.from_dict(payload("wf1")).to_dict()
    rec = store.get(pid)
    assert rec is not None and rec.state is State.PROCESSING
    assert rec.executions[-1].id == arn
    failed = store.get("c1/workflow-missing/b")
    assert failed is not None and failed.state is State.FAILED
    assert (failed.last_error or "").startswith("WorkflowNotFound: no state machine")


def test_a_large_payload_starts_with_its_url(aws: Any, base_arn: str, tmp_path: Any) -> None:
    store = open_store(tmp_path)
    runner = StepFunctionsRunner(base_arn, payload_store=store, threshold=100)
    p = Payload.from_dict(payload("wf1", note="x" * 200))
    arn = runner.execution_for(p)
    runner.start(p, arn)
    got = json.loads(aws("stepfunctions").describe_execution(executionArn=arn)["input"])
    assert set(got) == {"url"} and json.loads(store.get_bytes(got["url"]))["id"] == p.id
    with pytest.raises(WorkflowNotFound):
        runner.start(Payload.from_dict(payload("nope")), "x")
    with pytest.raises(ValueError, match="CIRRUS_BASE_WORKFLOW_ARN"):
        StepFunctionsRunner("arn:aws:lambda:x")


def test_sns_notifier_publishes_json_with_typed_attributes(aws: Any, unique: str) -> None:
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name=f"{unique}-failed")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{unique}-sub")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    notifier = SnsNotifier.from_env({"CIRRUS_FAILED_TOPIC_ARN": topic})
    notifier.publish("failed", {"payload_id": "p", "state": "FAILED"}, {"error": "X: y", "n": 2})
    notifier.publish("published", {"ignored": True})  # no ARN for it: not published
    (msg,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(msg["Body"])
    assert json.loads(envelope["Message"]) == {"payload_id": "p", "state": "FAILED"}
    attrs = envelope["MessageAttributes"]
    assert attrs["error"] == {"Type": "String", "Value": "X: y"}
    assert attrs["n"]["Type"] == "Number"
    assert sqs.receive_message(QueueUrl=queue).get("Messages") is None


def test_message_attributes_keep_sns_limits() -> None:
    many = {f"a{i}": str(i) for i in range(12)} | {"empty": ""}
    out = message_attributes(many)
    assert len(out) == 10 and "empty" not in out
    assert message_attributes({"x": 1.5})["x"] == {"DataType": "Number", "StringValue": "1.5"}
