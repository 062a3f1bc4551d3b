"""cfn-lint finds no errors in what we build, and the template has what Cirrus 0.9 deploys."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from cirrostratus.aws.build import BuildResult, names
from cirrostratus.aws.build.functions import lambda_specs
from cirrostratus.project import Project

from .conftest import lint_errors


def test_builtins_alone_lint_clean(builtins_build: BuildResult) -> None:
    assert lint_errors(builtins_build.template_path) == []
    # template.yaml is the same template (plain YAML, long-form intrinsics)
    assert yaml.safe_load(builtins_build.yaml_path.read_text()) == builtins_build.template


def test_init_and_create_every_kind_lint_clean(full_build: BuildResult) -> None:
    assert lint_errors(full_build.template_path) == []


def test_resource_kinds_cirrus_deploys(full_project: Path, full_build: BuildResult) -> None:
    resources = full_build.template["Resources"]
    types = Counter(r["Type"] for r in resources.values())
    specs = lambda_specs(Project.load(full_project))
    # every lambda (7 of Cirrus's builtins, ours, the 4 created) with its Version, log group, role
    assert types["AWS::Lambda::Function"] == len(specs) >= 11
    for spec in specs:
        base = names.normalize(spec.name)
        assert f"{base}LambdaFunction" in resources and f"{base}LogGroup" in resources
        assert f"{base}IamRoleLambdaExecution" in resources
        assert [k for k in resources if k.startswith(f"{base}LambdaVersion")]
    assert types["AWS::Lambda::Version"] == types["AWS::Lambda::Function"]
    assert types["AWS::Logs::LogGroup"] == types["AWS::Lambda::Function"]
    machines = [k for k, r in resources.items() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert {
        "PublishDashonlyStepFunctionsStateMachine",
        "WfDashoneStepFunctionsStateMachine",
    } <= set(machines)
    roles = {k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    assert {m.replace("StateMachine", "Role") for m in machines} <= roles
    assert {"BatchJobRole", "BatchInstanceRole", "EC2SpotRole", "BatTaskJobRole"} <= roles
    for kind in ("ComputeEnvironment", "JobQueue", "JobDefinition"):
        assert types[f"AWS::Batch::{kind}"] >= 4  # Cirrus's 2 (+2 definitions) and the created
    assert types["AWS::SQS::Queue"] == 3
    assert types["AWS::SNS::Topic"] == 2
    assert types["AWS::S3::Bucket"] == 2  # + the deployment bucket, a parameter here
    assert types["AWS::DynamoDB::Table"] == 2  # state + events (no Timestream)
    assert types["AWS::Timestream::Database"] == 0
    assert types["AWS::IAM::InstanceProfile"] == 1
    assert types["AWS::EC2::VPC"] == 1
    for kind in ("RestApi", "Resource", "Deployment"):
        assert types[f"AWS::ApiGateway::{kind}"] == 1
    assert types["AWS::ApiGateway::Method"] == 2
    assert types["AWS::Events::Rule"] == 1
    assert types["AWS::Lambda::EventSourceMapping"] == 1
    assert types["AWS::Lambda::Permission"] == 2
