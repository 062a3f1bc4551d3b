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


def test_the_triggers_deploy_to_moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's CloudFormation creates what the events became (its !Ref of an EventBus is an
    object, not the name AWS gives, so the bus is named here; it has no SNS subscriptions)."""
    import sys

    import boto3

    from cirrostratus.aws.deploy import Deployer
    from cirrostratus.aws.deploy_skip import skip_unsupported

    sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/aws: its moto_process helper
    from moto_process import moto_server

    files = _files(DEFINITION.replace("eventBus: !Ref Bus", "eventBus: ev-bus"))
    built = _build(tmp_path, files)
    built.template["Resources"]["ReactEventBridgeRule1"]["DependsOn"] = ["Bus"]
    template, skipped = skip_unsupported(built.template)
    assert set(skipped) == {
        "ReactSnsSubscriptionOpsDashalerts",
        "ReactSnsSubscriptionLandsatDashnew",
    }
    # other-queue is not there: a mapping to it would fail (as on AWS)
    del template["Resources"]["ReactEventSourceMappingSQSOtherDashqueue"]
    with moto_server() as url:
        for key, value in {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(key, value)
        session = boto3.session.Session(region_name="us-west-2")
        deployer = Deployer("ev-dev", region="us-west-2", session=session, poll_seconds=0.05)
        deployer.ensure_bucket("ev-deploys")
        url_ = deployer.upload("ev-deploys", template, built.packages)
        cs_id, _ = deployer.change_set(url_, {"DeploymentBucket": "ev-deploys"})
        assert cs_id is not None
        report = deployer.execute(cs_id, emulator=True)
        assert report.ok, report
        [mapping] = session.client("lambda").list_event_source_mappings(
            FunctionName="ev-dev-react"
        )["EventSourceMappings"]
        assert mapping["BatchSize"] == 5
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        events = session.client("events")
        rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
        schedules = sorted(r.get("ScheduleExpression", "") for r in rules.values())
        assert schedules == ["cron(0 12 * * ? *)", "rate(10 minutes)"]
        [on_bus] = events.list_rules(EventBusName="ev-bus")["Rules"]
        assert json.loads(on_bus["EventPattern"])["source"] == ["aws.s3"]
        topics = session.client("sns").list_topics()["Topics"]
        assert [t["TopicArn"].rsplit(":", 1)[1] for t in topics] == ["ops-alerts"]
