"""A deployment in moto's server (over HTTP on a loopback port) for the Lambda handler tests:
Cirrus's state table, our events table, payload and data buckets, the process queue with its
dead-letter queue, the failed/invalid/publish topics (each read through an SQS queue) and a
`wf1` state machine, with the environment a Cirrus stack gives its functions."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/stepfunctions"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/aws: its moto_process helper
    from moto_process import moto_server

    with moto_server() as url:
        yield url


@dataclass
class Deployment:
    clients: Any
    state_table: str
    events_table: str
    payload_bucket: str
    data_bucket: str
    queue: str
    dead_queue: str
    base_arn: str
    topics: dict[str, str]  # failed/invalid/publish → topic ARN
    inboxes: dict[str, str]  # failed/invalid/publish → SQS queue subscribed to it

    def client(self, service: str) -> Any:
        return self.clients(service)

    def received(self, topic: str) -> list[dict[str, Any]]:
        """SNS envelopes delivered to a topic's inbox so far (drained)."""
        sqs = self.client("sqs")
        out = []
        while True:
            got = sqs.receive_message(QueueUrl=self.inboxes[topic], MaxNumberOfMessages=10)
            msgs = got.get("Messages") or []
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.inboxes[topic], ReceiptHandle=m["ReceiptHandle"])

    def queued(self, url: str | None = None) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        got = sqs.receive_message(
            QueueUrl=url or self.queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return got.get("Messages") or []


@pytest.fixture
def deployment(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    import boto3

    from cirrostratus.state.dynamodb_schema import create_tables
    from cirrostratus.storage import s3

    # as on Lambda, which has boto3 but not s3fs: S3 through storage.s3 alone
    monkeypatch.setattr(s3, "s3fs_available", lambda: False)

    for key, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    session = boto3.session.Session(region_name=REGION)

    def clients(service: str) -> Any:
        return session.client(service, endpoint_url=moto_url)

    u = uuid.uuid4().hex[:10]
    state, events = f"stack-{u}-state", f"stack-{u}-events"
    create_tables(clients("dynamodb"), state, events)
    s3 = clients("s3")
    payloads, data = f"payloads-{u}", f"data-{u}"
    s3.create_bucket(Bucket=payloads)
    s3.create_bucket(Bucket=data)
    sqs = clients("sqs")

    def queue_arn(url: str) -> str:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attrs["Attributes"]["QueueArn"])

    dead = sqs.create_queue(QueueName=f"stack-{u}-dead")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn(dead), "maxReceiveCount": 5})
    queue = sqs.create_queue(QueueName=f"stack-{u}-process", Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    sns = clients("sns")
    topics, inboxes = {}, {}
    for name in ("failed", "invalid", "publish"):
        topics[name] = sns.create_topic(Name=f"stack-{u}-{name}")["TopicArn"]
        inboxes[name] = sqs.create_queue(QueueName=f"stack-{u}-{name}-inbox")["QueueUrl"]
        sns.subscribe(TopicArn=topics[name], Protocol="sqs", Endpoint=queue_arn(inboxes[name]))
    sfn = clients("stepfunctions")
    machine = sfn.create_state_machine(name=f"stack-{u}-wf1", definition=PASS, roleArn=ROLE)
    base = machine["stateMachineArn"][: -len("wf1")]
    for key, value in {
        "CIRRUS_STATE_DB": state,
        "CIRRO_EVENTS_TABLE": events,
        "CIRRUS_PAYLOAD_BUCKET": payloads,
        "CIRRUS_DATA_BUCKET": data,
        "CIRRUS_PROCESS_QUEUE_URL": queue,
        "CIRRUS_BASE_WORKFLOW_ARN": base,
        "CIRRUS_FAILED_TOPIC_ARN": topics["failed"],
        "CIRRUS_INVALID_TOPIC_ARN": topics["invalid"],
        "CIRRUS_PUBLISH_TOPIC_ARN": topics["publish"],
    }.items():
        monkeypatch.setenv(key, value)
    return Deployment(clients, state, events, payloads, data, queue, dead, base, topics, inboxes)


def payload(workflow: str = "wf1", item: str = "a", **process: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item,
                "collection": "c1",
                "bbox": [10.0, 20.0, 11.0, 21.0],
                "geometry": None,
                "properties": {"datetime": "2024-05-06T00:00:00Z", "eo:cloud_cover": 12.5},
                "links": [],
                "assets": {},
            }
        ],
        "process": {"workflow": workflow, "upload_options": {}, "tasks": {}, **process},
    }


def sqs_event(*bodies: Any) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"r{i}",
                "body": b if isinstance(b, str) else json.dumps(b),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
            }
            for i, b in enumerate(bodies)
        ]
    }


@pytest.fixture
def make_payload() -> Any:
    return payload


@pytest.fixture
def make_sqs_event() -> Any:
    return sqs_event
