"""`cirro deploy` / `cirro remove` against moto's CloudFormation over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cirrostratus.aws.deploy import failure_of
from cirrostratus.aws.deploy_skip import skip_unsupported

from .conftest import cirro, make_project


def _stack(aws: Any, name: str) -> dict[str, Any] | None:
    stacks = aws("cloudformation").list_stacks()["StackSummaries"]
    live = [s for s in stacks if s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def test_deploy_creates_the_stack_with_outputs(deployed: dict[str, Any], aws: Any) -> None:
    out = deployed["output"]
    assert "stack shared-dev: CREATE_COMPLETE" in out
    assert "created deployment bucket cirro-deploy-" in out
    described = aws("cloudformation").describe_stacks(StackName="shared-dev")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    assert outputs["StateTableName"] in aws("dynamodb").list_tables()["TableNames"]
    queues = [u.rsplit("/", 1)[1] for u in aws("sqs").list_queues()["QueueUrls"]]
    assert outputs["ProcessQueueUrl"].rsplit("/", 1)[1] == "shared-dev-process" in queues
    assert f"  ProcessQueueUrl: {outputs['ProcessQueueUrl']}" in out  # printed outputs
    # progress came from stack events, resource by resource
    assert "StateTable (AWS::DynamoDB::Table)" in out
    # the lambdas' code was uploaded under the keys the template names
    fn = aws("lambda").get_function(FunctionName="shared-dev-process")
    assert fn["Configuration"]["FunctionName"] == "shared-dev-process"


def test_skipped_resources_are_named_never_silent(deployed: dict[str, Any], aws: Any) -> None:
    out = deployed["output"]
    assert "skipped " in out and "AWS::Batch::ComputeEnvironment" in out
    resources = aws("cloudformation").list_stack_resources(StackName="shared-dev")
    types = {r["ResourceType"] for r in resources["StackResourceSummaries"]}
    assert "AWS::Batch::ComputeEnvironment" not in types
    assert "AWS::Lambda::Function" in types and "AWS::StepFunctions::StateMachine" in types


def test_skip_unsupported_removes_dependants_and_outputs() -> None:
    template = {
        "Resources": {
            "Env": {"Type": "AWS::Batch::ComputeEnvironment", "Properties": {}},
            "Queue": {"Type": "AWS::Batch::JobQueue", "Properties": {}},
            "Uses": {"Type": "AWS::SQS::Queue", "Properties": {"X": {"Fn::Sub": "${Env}-a"}}},
            "Later": {"Type": "AWS::SQS::Queue", "DependsOn": ["Uses"]},
            "Kept": {"Type": "AWS::SQS::Queue", "Properties": {"Name": {"Ref": "AWS::Region"}}},
        },
        "Outputs": {"E": {"Value": {"Fn::GetAtt": ["Env", "Arn"]}}, "K": {"Value": "k"}},
    }
    out, skipped = skip_unsupported(template)
    assert set(out["Resources"]) == {"Uses", "Later", "Kept"}
    assert out["Resources"]["Uses"]["Properties"]["X"] == {"Fn::Sub": "skipped-Env-a"}
    assert out["Resources"]["Later"]["DependsOn"] == ["Uses"]
    assert out["Resources"]["Kept"] == template["Resources"]["Kept"]
    assert set(skipped) == {"Env", "Queue", "Uses", "Outputs.E"} and set(out["Outputs"]) == {"K"}
    assert "references to Env replaced" in skipped["Uses"]
    assert set(template["Resources"]) == {"Env", "Queue", "Uses", "Later", "Kept"}  # a copy


def test_dry_run_prints_the_change_set_and_deploys_nothing(tmp_path: Path, aws: Any) -> None:
    root = make_project(tmp_path / "proj", "dry")
    result = cirro(
        "--project", str(root), "deploy", "--dry-run", "--skip-unsupported", "--no-vendor",
        "--poll", "0.05",
    )  # fmt: skip
    assert "change set for dry-dev" in result.output
    assert "Add     StateTable (AWS::DynamoDB::Table)" in result.output
    assert "dry run: change set deleted" in result.output
    assert _stack(aws, "dry-dev") is None  # the empty REVIEW_IN_PROGRESS stack is gone too


def test_second_deploy_updates_and_an_undeletable_stack_is_one_line(
    tmp_path: Path, aws: Any
) -> None:
    root = make_project(tmp_path / "proj", "upd")
    args = ["--project", str(root), "deploy", "--skip-unsupported", "--no-vendor", "--poll", "0.05"]
    assert "CREATE_COMPLETE" in cirro(*args).output
    again = cirro(*args)
    assert "no changes to deploy" in again.output  # same template: nothing to do
    config = root / "cirrus.yml"
    config.write_text(
        config.read_text().replace("  environment:\n", "  environment:\n    NEWVAR: x\n", 1)
    )
    updated = cirro(*args)
    assert "change set for upd-dev" in updated.output and "Modify" in updated.output
    assert "stack upd-dev: UPDATE_COMPLETE" in updated.output
    # moto cannot delete this stack (its VPC "has dependencies"): the error is one line
    refused = cirro("--project", str(root), "remove", "--yes", "--poll", "0.05", code=1)
    assert "deleting stack upd-dev failed" in str(refused.exception)


def test_remove_deletes_the_stack(tmp_path: Path, aws: Any) -> None:
    root = make_project(tmp_path / "proj", "rm")
    body = '{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "rmq"}}}}'
    aws("cloudformation").create_stack(StackName="rm-dev", TemplateBody=body)
    assert _stack(aws, "rm-dev") is not None
    removed = cirro("--project", str(root), "remove", "--yes", "--poll", "0.05")
    assert "stack rm-dev: DELETE_COMPLETE" in removed.output
    assert _stack(aws, "rm-dev") is None
    assert not [u for u in aws("sqs").list_queues().get("QueueUrls", []) if u.endswith("/rmq")]
    gone = cirro("--project", str(root), "remove", "--yes", code=1)
    assert "no stack named rm-dev" in str(gone.exception)


def test_a_refused_template_is_one_clear_error(tmp_path: Path, aws: Any) -> None:
    root = make_project(tmp_path / "proj", "bad")
    result = cirro("--project", str(root), "deploy", "--no-vendor", "--poll", "0.05", code=1)
    # moto cannot create a Batch compute environment without a ServiceRole: without
    # --skip-unsupported the execution fails, and says so in one line
    assert "executing the change set failed" in str(result.exception)


def test_failure_names_the_resource_that_caused_it() -> None:
    # moto never fails a stack with events, so these are the shapes AWS sends (oldest first)
    events = [
        {"LogicalResourceId": "stk", "ResourceType": "AWS::CloudFormation::Stack",
         "ResourceStatus": "CREATE_IN_PROGRESS"},
        {"LogicalResourceId": "Queue", "ResourceType": "AWS::SQS::Queue",
         "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Resource creation cancelled"},
        {"LogicalResourceId": "Data", "ResourceType": "AWS::S3::Bucket",
         "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "data already exists"},
        {"LogicalResourceId": "stk", "ResourceType": "AWS::CloudFormation::Stack",
         "ResourceStatus": "ROLLBACK_COMPLETE"},
    ]  # fmt: skip
    failed = failure_of(events)
    assert failed[0] == ("Data", "AWS::S3::Bucket", "data already exists")
    assert [f[0] for f in failed] == ["Data", "Queue"]
