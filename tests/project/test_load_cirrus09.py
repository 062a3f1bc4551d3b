"""A project as Cirrus 0.9's `cirrus init` + `cirrus create` writes it loads unchanged."""

from __future__ import annotations

from pathlib import Path

from cirrostratus.project import Project, Task

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Project:
    """A fixture project with no built-ins, so only its own components count."""
    return Project.load(FIXTURES / name, builtins_root=FIXTURES / "no-such-builtins")


def test_components_and_kinds() -> None:
    project = load("cirrus09")
    assert project.root == (FIXTURES / "cirrus09").resolve()
    assert sorted(project.tasks) == ["bonly", "dual", "lonly"]
    assert list(project.functions) == ["fn"]
    assert list(project.feeders) == ["fd"]
    assert list(project.workflows) == ["wf"]
    assert project.problems == []


def test_region_and_service_defaults_resolve() -> None:
    project = load("cirrus09")
    assert project.region == "us-west-2"
    assert project.service == "cirrus"
    assert project.stage == "dev"


def test_lambda_and_batch_flags() -> None:
    tasks = load("cirrus09").tasks
    assert (tasks["dual"].lambda_enabled, tasks["dual"].batch_enabled) == (True, True)
    assert (tasks["bonly"].lambda_enabled, tasks["bonly"].batch_enabled) == (False, True)
    assert (tasks["lonly"].lambda_enabled, tasks["lonly"].batch_enabled) == (True, False)
    dual = tasks["dual"]
    assert isinstance(dual, Task)
    assert dual.handler == "lambda_function.lambda_handler"
    assert dual.handler_file == dual.directory / "lambda_function.py"
    assert (dual.timeout, dual.memory_size) == (60, 128)
    assert dual.job_definitions == ["dualAsBatchJob"]
    assert dual.source == "project" and dual.overrides is None


def test_provider_environment_keeps_intrinsics_as_data() -> None:
    project = load("cirrus09")
    env = project.tasks["dual"].lambda_environment
    assert env["CIRRUS_DATA_BUCKET"] == {"Ref": "Data"}
    assert env["CIRRUS_STACK"] == "#{AWS::StackName}"
    assert env["CIRRUS_LOG_LEVEL"] == "DEBUG"


def test_task_batch_resources_join_the_cloudformation() -> None:
    project = load("cirrus09")
    assert project.resources["Data"].source == "cloudformation/s3.yml"
    job = project.job_definitions["dualAsBatchJob"]
    assert job.task == "dual"
    assert job.source == "task dual"
    assert job.image == "cirrusgeo/run-lambda:0.2.1" and job.runs_lambda
    assert job.command == ["run", "${self:service}-${self:provider.stage}-dual", "Ref::url"]
    assert (job.vcpus, job.memory_mb, job.attempts) == (1.0, 128, 1)
    queue = project.job_queues["dualJobQueue"]
    assert queue.compute_environments == ["dualComputeEnvironment"]
    assert queue.max_vcpus == 1000


def test_workflow_model() -> None:
    workflow = load("cirrus09").workflows["wf"]
    assert workflow.description == "A workflow"
    assert workflow.state_machine_name == "${self:service}-${self:provider.stage}-wf"
    assert workflow.definition["StartAt"] == "lonly"
    assert workflow.definition["States"]["lonly"]["Resource"] == {"Fn::GetAtt": ["lonly", "Arn"]}


def test_validate_has_no_errors_only_cirrus_template_quirks() -> None:
    problems = load("cirrus09").validate()
    assert [p for p in problems if p.severity == "error"] == []
    keys = {(p.file, p.key) for p in problems}
    # Cirrus's templates put IAM at the top level, where its build ignores them.
    assert ("tasks/dual/definition.yml", "iamRoleStatements") in keys
    # and its batch-only template runs a lambda that a batch-only task does not have.
    assert any(
        "no enabled lambda has that name" in p.message for p in problems if "bonly" in p.file
    )


def test_lambda_component_lookup() -> None:
    project = load("cirrus09")
    assert project.lambda_component("fn") is project.functions["fn"]
    assert project.lambda_component("bonly") is None  # batch-only
    assert project.component("bonly") is project.tasks["bonly"]
    assert project.lambda_component("nope") is None
