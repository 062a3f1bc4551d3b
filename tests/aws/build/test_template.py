"""The template's rules: environments, IAM, logical ids, Fn::Sub, variables, events table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from cirrostratus.aws.build import BuildError, BuildResult

Build = Callable[..., BuildResult]

CIRRUS_YML = """
service: svc
provider:
  name: aws
  stage: ${opt:stage, 'dev'}
  region: ${opt:region, 'us-west-2'}
  runtime: python3.12
  environment:
    A: provider
    B: provider
    C: provider
    CIRRUS_DATA_BUCKET: !Ref Data
    CIRRUS_PAYLOAD_BUCKET: !Ref Payloads
    CIRRUS_EVENT_DB_AND_TABLE: !Ref StateEventTimestreamTable
custom:
  batch:
    Subnets: [subnet-1]
    SecurityGroupIds: [sg-1]
    BasicComputeEnvironments: {MaxvCpus: 8}
    LambdaAsBatchJob: {Memory: 2048, Vcpus: 1}
    GeoLambdaAsBatchJob: {Memory: 2048, Vcpus: 1}
"""

ENV_TASK = """
description: env
environment: {B: task, C: task}
iamRoleStatements:
  - {Effect: Allow, Action: [s3:GetObject], Resource: "arn:aws:s3:::top-level/*"}
lambda:
  handler: lambda_function.lambda_handler
  environment: {C: lambda}
  iamRoleStatements:
    - {Effect: Allow, Action: [sqs:SendMessage], Resource: "arn:aws:sqs:#{AWS::Region}:#{AWS::AccountId}:q"}
batch:
  resources:
    Resources:
      env-taskQueue:
        Type: AWS::Batch::JobQueue
        Properties:
          Priority: 1
          ComputeEnvironmentOrder:
            - {Order: 1, ComputeEnvironment: !Ref BasicSpotComputeEnvironment}
      env-taskJob:
        Type: AWS::Batch::JobDefinition
        Properties:
          Type: container
          ContainerProperties:
            Image: img
            Vcpus: 1
            Memory: 512
            Environment:
              - {Name: C, Value: job}
              - {Name: AWS_REGION, Value: pinned}
"""

WORKFLOW = """
name: ${self:service}-${self:provider.stage}-wf
definition:
  StartAt: lam
  States:
    lam:
      Type: Task
      Resource: !GetAtt env-task.Arn
      Next: literal
    literal:
      Type: Pass
      Result: {text: "costs ${price} in #{AWS::Region}"}
      Next: job
    job:
      Type: Task
      Resource: arn:aws:states:::batch:submitJob.sync
      Parameters:
        JobName: x
        JobQueue: "#{env-taskQueue}"
        JobDefinition: "#{env-taskJob}"
      End: true
"""


def files(**extra: str) -> dict[str, str]:
    return {
        "cirrus.yml": CIRRUS_YML,
        "tasks/env-task/definition.yml": ENV_TASK,
        "tasks/env-task/lambda_function.py": "def lambda_handler(event, context):\n    return event\n",
        "workflows/wf/definition.yml": WORKFLOW,
        **extra,
    }


@pytest.fixture
def built(build_tmp: Build) -> BuildResult:
    return build_tmp(files(), stage="prod", region="eu-central-1")


def resources(result: BuildResult) -> dict[str, Any]:
    return dict(result.template["Resources"])


def test_lambda_environment_precedence(built: BuildResult) -> None:
    env = resources(built)["EnvDashtaskLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert (env["A"], env["B"], env["C"]) == ("provider", "task", "lambda")
    # a builtin without its own environment gets the provider's
    process = resources(built)["ProcessLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert (process["A"], process["B"], process["C"]) == ("provider", "provider", "provider")


def test_batch_environment_precedence(built: BuildResult) -> None:
    job = resources(built)["EnvDashtaskJob"]["Properties"]["ContainerProperties"]
    env = {e["Name"]: e["Value"] for e in job["Environment"]}
    assert (env["A"], env["B"], env["C"]) == ("provider", "task", "job")
    assert env["AWS_REGION"] == "pinned"  # the job definition's own list wins
    assert env["AWS_DEFAULT_REGION"] == {"Fn::Sub": "${AWS::Region}"}  # the stack's region
    # a job definition no task owns inherits the provider's environment only
    other = resources(built)["LambdaAsBatchJob"]["Properties"]["ContainerProperties"]
    names = {e["Name"]: e["Value"] for e in other["Environment"]}
    assert (names["B"], names["C"]) == ("provider", "provider")


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
    ]


def test_a_role_per_function_with_its_own_statements(built: BuildResult) -> None:
    res = resources(built)
    functions = {k: v for k, v in res.items() if v["Type"] == "AWS::Lambda::Function"}
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(set(roles)) == len(functions)  # no shared role
    mine = _statements(res["EnvDashtaskIamRoleLambdaExecution"])
    actions = [a for s in mine for a in s["Action"]]
    assert "s3:GetObject" in actions  # top-level iamRoleStatements (Cirrus 0.9 drops these)
    assert "sqs:SendMessage" in actions  # lambda.iamRoleStatements
    sqs = next(s for s in mine if s["Action"] == ["sqs:SendMessage"])
    assert sqs["Resource"] == {"Fn::Sub": "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:q"}
    publish = json.dumps(_statements(res["PublishIamRoleLambdaExecution"]))
    assert "top-level" not in publish and "sns:Publish" in publish
    process = json.dumps(_statements(res["ProcessIamRoleLambdaExecution"]))
    assert "sqs:ReceiveMessage" in process and "states:StartExecution" in process


def test_job_role_for_a_batch_task_without_one(built: BuildResult) -> None:
    res = resources(built)
    job = res["EnvDashtaskJob"]["Properties"]["ContainerProperties"]
    assert job["JobRoleArn"] == {"Fn::GetAtt": ["EnvDashtaskTaskJobRole", "Arn"]}
    role = res["EnvDashtaskTaskJobRole"]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"]["Service"] == ["ecs-tasks.amazonaws.com"]
    assert "arn:aws:s3:::top-level/*" in json.dumps(_statements(role))


def test_logical_ids_are_alphanumeric_and_references_follow(built: BuildResult) -> None:
    res = resources(built)
    assert all(re.fullmatch(r"[A-Za-z0-9]+", k) for k in res)
    assert "env-taskJob" not in res and "EnvDashtaskJob" in res
    definition = res["WfStepFunctionsStateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"]
    asl = json.loads(definition)
    job = asl["States"]["job"]["Parameters"]
    assert job["JobQueue"] == "${EnvDashtaskQueue}"
    assert job["JobDefinition"] == "${EnvDashtaskJob}"
    assert asl["States"]["lam"]["Resource"] == "${EnvDashtaskLambdaFunction.Arn}"
    # a literal ${...} survives Fn::Sub escaped; #{AWS::Region} becomes a substitution
    assert asl["States"]["literal"]["Result"]["text"] == "costs ${!price} in ${AWS::Region}"


def test_clashing_logical_ids_are_an_error(build_tmp: Build) -> None:
    clash = "Resources:\n  a-b: {Type: AWS::SNS::Topic}\n  ADashb: {Type: AWS::SNS::Topic}\n"
    with pytest.raises(
        BuildError, match="'a-b' and 'ADashb' both become the CloudFormation id 'ADashb'"
    ):
        build_tmp(files(**{"cloudformation/clash.yml": clash}))


def test_serverless_variables_resolved(built: BuildResult) -> None:
    res = resources(built)
    sm = res["WfStepFunctionsStateMachine"]["Properties"]
    assert sm["StateMachineName"] == "svc-prod-wf"
    assert res["EnvDashtaskLambdaFunction"]["Properties"]["FunctionName"] == "svc-prod-env-task"
    ce = res["BasicSpotComputeEnvironment"]["Properties"]["ComputeResources"]
    assert ce["MaxvCpus"] == 8 and ce["Subnets"] == ["subnet-1"]
    assert ce["SpotIamFleetRole"] == {"Fn::GetAtt": ["EC2SpotRole", "Arn"]}
    assert ce["AllocationStrategy"]
    assert "${self:" not in json.dumps(built.template) and "${opt:" not in json.dumps(
        built.template
    )


def test_hash_references_become_fn_sub(built: BuildResult) -> None:
    topic = resources(built)["PublishTopic"]["Properties"]["TopicName"]
    assert topic == {"Fn::Sub": "${AWS::StackName}-publish"}
    assert "#{" not in json.dumps(built.template)


def test_unresolved_variable_is_an_error(build_tmp: Build) -> None:
    task = ENV_TASK.replace(
        "environment: {B: task, C: task}", "environment: {B: '${self:custom.nope}'}"
    )
    with pytest.raises(
        BuildError, match=r"unresolved .*EnvDashtaskLambdaFunction: \$\{self:custom\.nope\}"
    ):
        build_tmp(files(**{"tasks/env-task/definition.yml": task}))


def test_dangling_reference_is_an_error(build_tmp: Build) -> None:
    bad = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Ref Nowhere}\n"
    with pytest.raises(BuildError, match="refers to Nowhere"):
        build_tmp(files(**{"cloudformation/bad.yml": bad}))


def test_missing_buckets_come_from_the_init_template(built: BuildResult) -> None:
    assert resources(built)["Data"]["Type"] == "AWS::S3::Bucket"
    assert any("s3.yml" in w for w in built.warnings)


def test_events_in_dynamodb_by_default(built: BuildResult) -> None:
    res = resources(built)
    table = res["StateEventsTable"]["Properties"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert not [r for r in res.values() if r["Type"].startswith("AWS::Timestream")]
    for body in res.values():
        if body["Type"] == "AWS::Lambda::Function":
            env = body["Properties"]["Environment"]["Variables"]
            assert env["CIRRO_EVENTS_TABLE"] == {"Ref": "StateEventsTable"}
            assert "CIRRUS_EVENT_DB_AND_TABLE" not in env


def test_timestream_kept_on_request(build_tmp: Build) -> None:
    config = CIRRUS_YML + "  cirro:\n    event_db: timestream\n"
    result = build_tmp(files(**{"cirrus.yml": config}))
    res = resources(result)
    assert res["StateEventTimestreamTable"]["Type"] == "AWS::Timestream::Table"
    assert "StateEventsTable" not in res
    env = res["ProcessLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert env["CIRRUS_EVENT_DB_AND_TABLE"] == {"Ref": "StateEventTimestreamTable"}
    assert "CIRRO_EVENTS_TABLE" not in env


def test_deploy_contract(built: BuildResult) -> None:
    assert built.template["Parameters"]["DeploymentBucket"]["Type"] == "String"
    keys = set()
    for body in resources(built).values():
        if body["Type"] == "AWS::Lambda::Function":
            code = body["Properties"]["Code"]
            assert code["S3Bucket"] == {"Ref": "DeploymentBucket"}
            keys.add(code["S3Key"])
    assert keys == set(built.packages)
    assert len([k for k in keys if "/_builtins-" in k]) == 1  # one zip for our handlers
    assert all(re.fullmatch(r"cirro/prod/[a-z_-]+-[0-9a-f]{12}\.zip", k) for k in keys)
    outputs = built.template["Outputs"]
    for name in ("StateTableName", "ProcessQueueUrl", "PublishTopicArn", "DataBucketName",
                 "PayloadBucketName", "StateEventsTableName"):  # fmt: skip
        assert name in outputs
    assert outputs["WfStepFunctionsStateMachineArn"] == {
        "Description": "workflow wf",
        "Value": {"Ref": "WfStepFunctionsStateMachine"},
    }


def test_builtin_wiring(built: BuildResult) -> None:
    res = resources(built)
    esm = res["ProcessEventSourceMappingSQSProcessQueue"]["Properties"]
    assert esm["EventSourceArn"] == {"Fn::GetAtt": ["ProcessQueue", "Arn"]}
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    rule = res["UpdateDashstateEventsRuleStepFunctions"]["Properties"]
    machines = rule["EventPattern"]["detail"]["stateMachineArn"]
    assert {"Ref": "WfStepFunctionsStateMachine"} in machines
    process = res["ProcessLambdaFunction"]["Properties"]
    assert process["Handler"] == "cirrostratus.aws.handlers.process.lambda_handler"
    assert process["Environment"]["Variables"]["CIRRUS_BASE_WORKFLOW_ARN"]["Fn::Sub"].endswith(
        ":stateMachine:svc-prod-"
    )
    update = res["UpdateDashstateLambdaFunction"]["Properties"]
    assert update["Handler"] == "cirrostratus.aws.handlers.update_state.lambda_handler"
