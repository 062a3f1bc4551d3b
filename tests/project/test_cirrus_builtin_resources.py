"""The CloudFormation objects Cirrus 0.9 ships as builtins are ours too, so projects that use
them (`#{LambdaAsBatchJob}`, `#{BasicOnDemandJobQueue}`, EC2SpotRole in a batch template) load
and validate as they do with Cirrus."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrostratus.project import Project, create_component, init_project

CIRRUS_09 = {
    "PublishTopic": "AWS::SNS::Topic",
    "FailedTopic": "AWS::SNS::Topic",
    "ProcessQueue": "AWS::SQS::Queue",
    "ProcessDeadLetterQueue": "AWS::SQS::Queue",
    "UpdateStateDLQ": "AWS::SQS::Queue",
    "StateTable": "AWS::DynamoDB::Table",
    "StateEventTimestreamDatabase": "AWS::Timestream::Database",
    "StateEventTimestreamTable": "AWS::Timestream::Table",
    "BatchJobRole": "AWS::IAM::Role",
    "BatchInstanceRole": "AWS::IAM::Role",
    "EC2SpotRole": "AWS::IAM::Role",
    "BatchInstanceProfile": "AWS::IAM::InstanceProfile",
    "BasicOnDemandComputeEnvironment": "AWS::Batch::ComputeEnvironment",
    "BasicOnDemandJobQueue": "AWS::Batch::JobQueue",
    "BasicSpotComputeEnvironment": "AWS::Batch::ComputeEnvironment",
    "BasicSpotJobQueue": "AWS::Batch::JobQueue",
    "LambdaAsBatchJob": "AWS::Batch::JobDefinition",
    "GeoLambdaAsBatchJob": "AWS::Batch::JobDefinition",
}


def test_builtins_hold_cirrus_09_resources_and_outputs() -> None:
    project = Project.load(None)
    types = {name: project.resources[name].type for name in CIRRUS_09 if name in project.resources}
    assert types == CIRRUS_09
    assert all(project.resources[name].source == "built-in" for name in CIRRUS_09)
    output = project.cloudformation["Outputs"]["CirrusProcessQueue"]
    assert output.body == {"Value": {"Ref": "ProcessQueue"}}


def test_basic_queues_feed_their_environments_with_the_configured_cap() -> None:
    project = Project.load(None)  # Cirrus's default cirrus.yml: MaxvCpus 128
    for kind, resource_type in (("OnDemand", "EC2"), ("Spot", "SPOT")):
        queue = project.job_queues[f"Basic{kind}JobQueue"]
        assert queue.compute_environments == [f"Basic{kind}ComputeEnvironment"]
        assert queue.max_vcpus == 128
        environment = project.compute_environments[f"Basic{kind}ComputeEnvironment"]
        assert environment.resource_type == resource_type


@pytest.mark.parametrize(
    ("job", "image"),
    [
        ("LambdaAsBatchJob", "cirrusgeo/run-lambda"),
        ("GeoLambdaAsBatchJob", "cirrusgeo/run-geolambda"),
    ],
)
def test_lambda_as_batch_jobs_run_the_named_lambda(job: str, image: str) -> None:
    definition = Project.load(None).job_definitions[job]
    assert definition.command == ["run", "Ref::lambda_function", "Ref::url"]
    assert definition.runs_lambda and str(definition.image).startswith(image)
    assert definition.memory_mb == 2048 and definition.vcpus == 1  # custom.batch defaults
    assert definition.parameters == {"lambda_function": "", "url": ""}


def test_workflow_on_builtin_batch_resources_and_batch_template_validate(tmp_path: Path) -> None:
    init_project(tmp_path)
    create_component(tmp_path, "task", "bat", "Batch", ["batch"])
    workflow = tmp_path / "workflows" / "wf"
    workflow.mkdir(parents=True)
    (workflow / "README.md").write_text("# wf\n")
    (workflow / "definition.yml").write_text(
        "name: ${self:service}-${self:provider.stage}-wf\n"
        "definition:\n"
        "  StartAt: job\n"
        "  States:\n"
        "    job:\n"
        "      Type: Task\n"
        "      Resource: arn:aws:states:::batch:submitJob.sync\n"
        "      Parameters:\n"
        "        JobName: job\n"
        "        JobQueue: '#{BasicOnDemandJobQueue}'\n"
        "        JobDefinition: '#{LambdaAsBatchJob}'\n"
        "        Parameters: {lambda_function: x, url.$: $.url}\n"
        "      End: true\n"
    )
    project = Project.load(tmp_path)
    assert project.validate() == []
    spot = [
        r
        for r in project.resources.values()
        if r.task == "bat" and r.type == "AWS::Batch::ComputeEnvironment"
    ]
    assert spot and "EC2SpotRole" in str(spot[0].body)  # what `create task -t batch` refers to
    assert project.resources["EC2SpotRole"].source == "built-in"
    assert project.resources["BatchInstanceProfile"].source == "built-in"


def test_workflow_on_builtin_resources_fails_without_them(tmp_path: Path) -> None:
    """The same workflow against a project without the builtins names the missing resource."""
    init_project(tmp_path)
    workflow = tmp_path / "workflows" / "wf"
    workflow.mkdir(parents=True)
    (workflow / "README.md").write_text("# wf\n")
    (workflow / "definition.yml").write_text(
        "name: ${self:service}-${self:provider.stage}-wf\n"
        "definition:\n  StartAt: job\n  States:\n    job:\n      Type: Task\n"
        "      Resource: arn:aws:states:::batch:submitJob.sync\n"
        "      Parameters: {JobName: j, JobQueue: '#{BasicOnDemandJobQueue}', "
        "JobDefinition: '#{LambdaAsBatchJob}'}\n      End: true\n"
    )
    problems = Project.load(tmp_path, builtins_root=tmp_path / "none").validate()
    assert any(
        "#{LambdaAsBatchJob} is not a CloudFormation resource" in p.message for p in problems
    )
