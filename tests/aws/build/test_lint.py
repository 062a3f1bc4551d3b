"""cfn-lint finds no errors in what we build, and the template has what Cirrus 0.9 deploys."""

from __future__ import annotations

from collections import Counter

import yaml

from cirrostratus.aws.build import BuildResult

from .conftest import lint_errors


def test_builtins_alone_lint_clean(builtins_build: BuildResult) -> None:
    assert lint_errors(builtins_build.template_path) == []
    # template.yaml is the same template (plain YAML, long-form intrinsics)
    assert yaml.safe_load(builtins_build.yaml_path.read_text()) == builtins_build.template


def test_init_and_create_every_kind_lint_clean(full_build: BuildResult) -> None:
    assert lint_errors(full_build.template_path) == []


def test_resource_kinds_cirrus_deploys(full_build: BuildResult) -> None:
    types = Counter(r["Type"] for r in full_build.template["Resources"].values())
    functions = types["AWS::Lambda::Function"]
    # api, process, update-state, feed-rerun, pre-batch, post-batch, publish + 4 created
    assert functions == 11
    assert types["AWS::Lambda::Version"] == functions
    assert types["AWS::Logs::LogGroup"] == functions
    # a role per function, per state machine (2), Batch's 3, the created batch tasks' 2
    assert types["AWS::IAM::Role"] == functions + 2 + 3 + 2
    assert types["AWS::StepFunctions::StateMachine"] == 2  # publish-only, wf-one
    assert types["AWS::Batch::ComputeEnvironment"] == 4
    assert types["AWS::Batch::JobQueue"] == 4
    assert types["AWS::Batch::JobDefinition"] == 4
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
