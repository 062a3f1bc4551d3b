"""What task code sees under `--aws local`: the environment AWS would give it, and resources
created from the project's CloudFormation that answer boto3 (probed by a plain boto3 task)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CIRRO = [sys.executable, "-m", "cirrostratus"]
TASK_ARGS = ("--no-task-envs", "probe")

CIRRUS_YML = """\
service: cirrus
provider:
  name: aws
  stage: test
  region: eu-west-1
  environment:
    CIRRUS_DATA_BUCKET: !Ref Data
    CIRRUS_PAYLOAD_BUCKET: !Ref Payloads
    CIRRUS_STATE_DB: !Ref StateTable
    CIRRUS_PROCESS_QUEUE_URL: !Ref ProcessQueue
    CIRRUS_PUBLISH_TOPIC_ARN: !Ref PublishTopic
custom:
  batch:
    BasicComputeEnvironments: {MaxvCpus: 2}
    LambdaAsBatchJob: {Memory: 512, Vcpus: 1}
    GeoLambdaAsBatchJob: {Memory: 512, Vcpus: 1}
"""

RESOURCES = """\
Resources:
  Data:
    Type: AWS::S3::Bucket
  Payloads:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: "#{AWS::StackName}-payload-bucket"
  WorkQueue:
    Type: AWS::SQS::Queue
  Announcements:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: ${self:service}-${self:provider.stage}-announcements
      Subscription:
        - Endpoint: !GetAtt WorkQueue.Arn
          Protocol: sqs
"""

PROBE_DEFINITION = """\
description: reports what boto3 finds
environment:
  WORK_QUEUE: !Ref WorkQueue
  ANNOUNCEMENTS: !Ref Announcements
  WORK_QUEUE_ARN: !GetAtt WorkQueue.Arn
lambda:
  handler: lambda_function.lambda_handler
  timeout: 60
"""

PROBE = """\
import json
import os

import boto3


def lambda_handler(event, context):
    env = os.environ
    seen = {k: v for k, v in env.items() if k.startswith(("CIRRUS_", "AWS_", "WORK_", "ANNO"))}
    s3 = boto3.client("s3")
    table = boto3.client("dynamodb").describe_table(TableName=env["CIRRUS_STATE_DB"])["Table"]
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=env["CIRRUS_PROCESS_QUEUE_URL"], MessageBody="{}")
    boto3.client("sns").publish(TopicArn=env["ANNOUNCEMENTS"], Message="hello")
    got = sqs.receive_message(QueueUrl=env["WORK_QUEUE"], WaitTimeSeconds=2)["Messages"]
    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId="cirrus-creds-" + env["CIRRUS_DATA_BUCKET"]
    )
    s3.put_object(Bucket=env["CIRRUS_DATA_BUCKET"], Key="probe/hello.txt", Body=b"hello")
    earlier = s3.get_object(Bucket=env["CIRRUS_PAYLOAD_BUCKET"], Key="earlier/note.txt")
    return {
        **event,
        "probe": {
            "env": seen,
            "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
            "keys": table["KeySchema"],
            "indexes": sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]),
            "announced": json.loads(got[0]["Body"])["Message"],
            "secret": json.loads(secret["SecretString"]),
            "earlier": earlier["Body"].read().decode(),
        },
    }
"""


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("probe") / "project"
    (root / "cloudformation").mkdir(parents=True)
    (root / "cirrus.yml").write_text(CIRRUS_YML)
    (root / "cloudformation" / "resources.yml").write_text(RESOURCES)
    task = root / "tasks" / "probe"
    task.mkdir(parents=True)
    (task / "definition.yml").write_text(PROBE_DEFINITION)
    (task / "lambda_function.py").write_text(PROBE)
    (task / "README.md").write_text("# probe\n")
    # written before any server ran: the local S3 finds it in the payload folder
    earlier = root / ".cirro" / "payloads" / "earlier" / "note.txt"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("from an earlier run")
    payload = root / "payload.json"
    payload.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    done = subprocess.run(
        [*CIRRO, "--project", str(root), "task", "run", "--aws", "local", *TASK_ARGS, str(payload)],
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "local AWS at http://127.0.0.1:" in done.stderr
    return root, json.loads(done.stdout)["probe"]


def test_tasks_get_bare_names_endpoint_and_test_credentials(
    probed: tuple[Path, dict[str, Any]],
) -> None:
    _, probe = probed
    env = probe["env"]
    assert env["CIRRUS_DATA_BUCKET"] == "cirrus-test-data"  # CloudFormation's <stack>-<id>
    assert env["CIRRUS_PAYLOAD_BUCKET"] == "cirrus-test-payload-bucket"  # its BucketName
    assert env["CIRRUS_STATE_DB"] == "cirrus-test-state"
    assert env["CIRRUS_PROCESS_QUEUE_URL"].endswith("/cirrus-test-process")
    assert env["CIRRUS_PUBLISH_TOPIC_ARN"].startswith("arn:aws:sns:eu-west-1:")
    assert env["CIRRUS_PUBLISH_TOPIC_ARN"].endswith(":cirrus-test-publish")
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "cirrus-test-probe"
    # the task's own !Ref / !GetAtt of project resources resolve too
    assert env["WORK_QUEUE"].endswith("/cirrus-test-WorkQueue")
    assert env["WORK_QUEUE_ARN"].startswith("arn:aws:sqs:eu-west-1:")
    assert env["ANNOUNCEMENTS"].endswith(":cirrus-test-announcements")


def test_resources_from_the_template_answer_boto3(probed: tuple[Path, dict[str, Any]]) -> None:
    root, probe = probed
    assert {"cirrus-test-data", "cirrus-test-payload-bucket"} <= set(probe["buckets"])
    assert probe["keys"] == [
        {"AttributeName": "collections_workflow", "KeyType": "HASH"},
        {"AttributeName": "itemids", "KeyType": "RANGE"},
    ]
    assert probe["indexes"] == ["state_updated", "updated"]  # Cirrus's StateTable schema
    assert probe["announced"] == "hello"  # the topic's SQS subscription delivered
    assert probe["secret"]["aws_access_key_id"] == "testing"
    assert probe["earlier"] == "from an earlier run"
    # what the task put in the data bucket is a plain file in the project's data folder
    assert (root / ".cirro" / "data" / "probe" / "hello.txt").read_text() == "hello"
