"""A function's Serverless `lambda.events` become plain CloudFormation triggers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.aws.build import BuildError, BuildResult, build_project
from cirrostratus.project import Project

from .conftest import lint_errors

CIRRUS = "service: ev\nprovider:\n  environment: {}\ncustom:\n  alerts: ops-alerts\n"
QUEUES = """Resources:
  work-queue:
    Type: AWS::SQS::Queue
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: ev-bus}
"""
DEFINITION = """description: reacts to everything
lambda:
  handler: lambda_function.lambda_handler
  events:
    - schedule: rate(10 minutes)
    - schedule:
        rate: cron(0 12 * * ? *)
        enabled: false
        input: {collections: [sentinel-2-l2a]}
    - sqs:
        arn: !GetAtt work-queue.Arn
        batchSize: 5
        maximumBatchingWindow: 30
        functionResponseType: ReportBatchItemFailures
    - sqs: "arn:aws:sqs:#{AWS::Region}:#{AWS::AccountId}:other-queue"
    - sns: ${self:custom.alerts}
    - sns:
        arn: arn:aws:sns:us-west-2:123456789012:landsat-new
        filterPolicy: {platform: [landsat-9]}
    - eventBridge:
        eventBus: !Ref Bus
        pattern:
          source: [aws.s3]
          detail-type: [Object Created]
"""


def _files(definition: str = DEFINITION) -> dict[str, str]:
    return {
        "cirrus.yml": CIRRUS,
        "cloudformation/queues.yml": QUEUES,
        "functions/react/definition.yml": definition,
        "functions/react/lambda_function.py": "def lambda_handler(event, context):\n    return 1\n",
    }


def _build(root: Path, files: dict[str, str]) -> BuildResult:
    """Built without cirro's builtins (their cirrus.yml variables are not the point here)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "no-builtins").mkdir(exist_ok=True)
    project = Project.load(root, builtins_root=root / "no-builtins")
    return build_project(project, out=root / "out", vendor=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return _build(tmp_path_factory.mktemp("events"), _files())


def _of(built: BuildResult, logical_id: str) -> dict[str, Any]:
    return dict(built.template["Resources"][logical_id]["Properties"])


FN_ARN = {"Fn::GetAtt": ["ReactLambdaFunction", "Arn"]}


def test_schedules_become_rules_with_permissions(built: BuildResult) -> None:
    first = _of(built, "ReactEventsRuleSchedule1")
    assert first["ScheduleExpression"] == "rate(10 minutes)" and first["State"] == "ENABLED"
    assert first["Targets"][0]["Arn"] == FN_ARN and "Input" not in first["Targets"][0]
    second = _of(built, "ReactEventsRuleSchedule2")
    assert second["ScheduleExpression"] == "cron(0 12 * * ? *)"
    assert second["State"] == "DISABLED"
    assert json.loads(second["Targets"][0]["Input"]) == {"collections": ["sentinel-2-l2a"]}
    permission = _of(built, "ReactLambdaPermissionEventsRuleSchedule2")
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["ReactEventsRuleSchedule2", "Arn"]}
    assert permission["FunctionName"] == FN_ARN


def test_sqs_becomes_a_mapping_and_the_role_may_read_the_queue(built: BuildResult) -> None:
    mapping = _of(built, "ReactEventSourceMappingSQSWorkDashqueue")
    assert mapping == {
        "EventSourceArn": {"Fn::GetAtt": ["WorkDashqueue", "Arn"]},  # renamed as elsewhere
        "FunctionName": {"Ref": "ReactLambdaFunction"},
        "BatchSize": 5,
        "Enabled": True,
        "MaximumBatchingWindowInSeconds": 30,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    other = _of(built, "ReactEventSourceMappingSQSOtherDashqueue")
    assert other["EventSourceArn"] == {
        "Fn::Sub": "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:other-queue"
    }
    assert other["BatchSize"] == 10  # Serverless's default
    role = _of(built, "ReactIamRoleLambdaExecution")
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    reads = [s for s in statements if "sqs:ReceiveMessage" in s["Action"]]
    assert [s["Resource"] for s in reads] == [
        [{"Fn::GetAtt": ["WorkDashqueue", "Arn"]}],
        [other["EventSourceArn"]],
    ]
    assert all("sqs:DeleteMessage" in s["Action"] for s in reads)


def test_sns_subscribes_and_a_bare_name_makes_the_topic(built: BuildResult) -> None:
    topic = _of(built, "SNSTopicOpsDashalerts")
    assert topic == {"TopicName": "ops-alerts"}  # ${self:custom.alerts} resolved
    made = _of(built, "ReactSnsSubscriptionOpsDashalerts")
    assert made == {
        "TopicArn": {"Ref": "SNSTopicOpsDashalerts"},
        "Protocol": "lambda",
        "Endpoint": FN_ARN,
    }
    given = _of(built, "ReactSnsSubscriptionLandsatDashnew")
    assert given["TopicArn"] == "arn:aws:sns:us-west-2:123456789012:landsat-new"
    assert given["FilterPolicy"] == {"platform": ["landsat-9"]}
    permission = _of(built, "ReactLambdaPermissionLandsatDashnewSNS")
    assert permission["Principal"] == "sns.amazonaws.com"
    assert permission["SourceArn"] == given["TopicArn"]


def test_event_bridge_pattern_on_a_bus(built: BuildResult) -> None:
    rule = _of(built, "ReactEventBridgeRule1")
    assert rule["EventPattern"] == {"source": ["aws.s3"], "detail-type": ["Object Created"]}
    assert rule["EventBusName"] == {"Ref": "Bus"} and rule["Targets"][0]["Arn"] == FN_ARN
    permission = _of(built, "ReactEventBridgeLambdaPermission1")
    assert permission["SourceArn"] == {"Fn::GetAtt": ["ReactEventBridgeRule1", "Arn"]}


def test_events_lint_clean_and_are_no_longer_warned(built: BuildResult) -> None:
    assert lint_errors(built.template_path) == []
    assert not [w for w in built.warnings if "events" in w]


def test_an_unsupported_event_names_the_field_and_the_kinds(tmp_path: Path) -> None:
    definition = (
        "lambda:\n  handler: lambda_function.lambda_handler\n  events:\n    - http: GET /\n"
    )
    with pytest.raises(BuildError) as caught:
        _build(tmp_path, _files(definition))
    message = str(caught.value)
    assert "functions/react/definition.yml: lambda.events[0].http is not an event" in message
    assert "schedule, sqs, sns, eventBridge" in message and "cloudformation/" in message


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ("- schedule: every 10 minutes", r"\[0\]\.schedule\.rate 'every 10 minutes' is not rate"),
        ("- sqs: {batchSize: 3}", r"\[0\]\.sqs needs the queue's arn"),
        ("- sqs: {arn: x, functionResponseType: Nope}", r"functionResponseType can only be"),
        ("- eventBridge: {eventBus: b}", r"\[0\]\.eventBridge needs a pattern"),
    ],
)
def test_bad_events_are_one_clear_error(tmp_path: Path, event: str, says: str) -> None:
    definition = f"lambda:\n  handler: lambda_function.lambda_handler\n  events:\n    {event}\n"
    with pytest.raises(BuildError, match=says):
        _build(tmp_path, _files(definition))
