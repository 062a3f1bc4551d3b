"""Job definitions, queues and compute environments: what a local Batch runner needs."""

from __future__ import annotations

from pathlib import Path

from cirrostratus.project import Project, Task

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Project:
    """A fixture project with no built-ins, so only its own components count."""
    return Project.load(FIXTURES / name, builtins_root=FIXTURES / "no-such-builtins")


def test_resource_requirements_timeout_and_retries() -> None:
    job = load("envproject").job_definitions["BothAsBatchJob"]
    assert (job.vcpus, job.memory_mb, job.gpus) == (0.5, 1024, 1)
    assert (job.timeout_s, job.attempts) == (3600, 3)
    assert job.image == "example.com/both:1" and not job.runs_lambda
    assert job.parameters == {"url": ""}
    assert job.name == "#{AWS::StackName}-both"


def test_serverless_variables_resolve_for_numbers() -> None:
    job = load("envproject").job_definitions["Standalone"]
    assert (job.vcpus, job.memory_mb) == (2.0, 4096)  # ${self:custom.batch.Jobs.*}
    assert job.image is None  # an intrinsic (!If) is kept in properties, not guessed
    assert job.properties["ContainerProperties"]["Image"] == {
        "Fn::If": ["IsProd", "prod/image:1", "dev/image:1"]
    }


def test_queue_concurrency_cap_sums_its_compute_environments() -> None:
    project = load("envproject")
    assert project.compute_environments["BothComputeEnvironment"].max_vcpus == 16  # variable
    assert project.compute_environments["SharedComputeEnvironment"].resource_type == "EC2"
    queue = project.job_queues["BothJobQueue"]
    assert queue.compute_environments == ["BothComputeEnvironment", "SharedComputeEnvironment"]
    assert queue.max_vcpus == 24
    assert queue.priority == 5


def test_task_fields() -> None:
    task = load("envproject").tasks["both"]
    assert isinstance(task, Task)
    assert task.local_command == ["python", "task.py", "Ref::url"]
    assert task.reserved_concurrency == 3
    assert (task.timeout, task.memory_size) == (300, 2048)
    assert task.lambda_config["layers"] == ["arn:aws:lambda:us-west-2:123456789012:layer:gdal:1"]
    assert task.iam_statements[0]["Resource"] == {"Fn::Sub": "arn:aws:s3:::${Data}/*"}
    assert task.parameters_schema is not None and task.parameters_schema["required"] == ["assets"]


def test_serverless_defaults_for_a_bare_lambda() -> None:
    task = load("envproject").tasks["plain"]
    assert (task.timeout, task.memory_size, task.reserved_concurrency) == (6, 1024, None)
    assert not task.batch_enabled and task.local_command is None


def test_all_cloudformation_sections_are_kept() -> None:
    project = load("envproject")
    assert set(project.cloudformation) == {"Resources", "Conditions", "Outputs"}
    assert project.cloudformation["Outputs"]["QueueArn"].body == {
        "Value": {"Fn::GetAtt": ["SharedJobQueue", "JobQueueArn"]}
    }
    assert project.cloudformation["Conditions"]["NotProd"].body == {
        "Fn::Not": [{"Condition": "IsProd"}]
    }


def test_enabled_rules(tmp_path: Path) -> None:
    """lambda_enabled = bool(lambda) and lambda.enabled and enabled; batch likewise."""
    (tmp_path / "cirrus.yml").write_text("service: s\nprovider: {environment: {}}\n")
    cases = {
        "only-enabled-key": "lambda: {enabled: true}\n",
        "lambda-off": "lambda: {enabled: false, handler: a.b}\n",
        "all-off": "enabled: false\nlambda: {handler: a.b}\nbatch: {resources: {Resources: {}}}\n",
        "batch-off": "batch: {enabled: false, resources: {Resources: {J: {Type: X}}}}\n",
        "batch-on": "batch: {resources: {Resources: {J: {Type: X}}}}\n",
    }
    for name, text in cases.items():
        (tmp_path / "tasks" / name).mkdir(parents=True)
        (tmp_path / "tasks" / name / "definition.yml").write_text(text)
    tasks = Project.load(tmp_path, builtins_root=tmp_path / "none").tasks
    flags = {name: (t.enabled, t.lambda_enabled, t.batch_enabled) for name, t in tasks.items()}
    assert flags == {
        "only-enabled-key": (True, False, False),
        "lambda-off": (True, False, False),
        "all-off": (False, False, False),
        "batch-off": (True, False, False),
        "batch-on": (True, False, True),
    }
