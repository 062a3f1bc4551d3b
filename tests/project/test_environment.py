"""Environment inheritance: provider → component → lambda; provider → task → AWS_* → job list."""

from __future__ import annotations

from pathlib import Path

from cirrostratus.project import Project
from cirrostratus.project.environment import job_environment, lambda_environment

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Project:
    """A fixture project with no built-ins, so only its own components count."""
    return Project.load(FIXTURES / name, builtins_root=FIXTURES / "no-such-builtins")


def test_lambda_environment_later_wins() -> None:
    env = load("envproject").tasks["both"].lambda_environment
    assert env == {
        "SHARED": "lambda",
        "PROVIDER_ONLY": "p",
        "BUCKET": {"Ref": "Data"},
        "STACK": "#{AWS::StackName}",
        "TASK_ONLY": "t",
        "LAMBDA_ONLY": "l",
    }


def test_task_job_definition_inherits_provider_and_task_then_region_then_own_list() -> None:
    job = load("envproject").job_definitions["BothAsBatchJob"]
    assert job.environment["SHARED"] == "job"  # own list beats task and provider
    assert job.environment["TASK_ONLY"] == "t"
    assert job.environment["PROVIDER_ONLY"] == "p"
    assert job.environment["AWS_REGION"] == "from-job"  # own list beats the injected region
    assert job.environment["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert "LAMBDA_ONLY" not in job.environment  # lambda.environment is the lambda's only


def test_standalone_job_definition_gets_provider_only() -> None:
    job = load("envproject").job_definitions["Standalone"]
    assert job.task is None
    assert "TASK_ONLY" not in job.environment
    assert job.environment["SHARED"] == "standalone"
    assert job.environment["AWS_REGION"] == "eu-central-1"


def test_nothing_injected_when_nothing_inherited(tmp_path: Path) -> None:
    (tmp_path / "cirrus.yml").write_text("service: s\nprovider:\n  name: aws\n  environment: {}\n")
    (tmp_path / "cloudformation").mkdir()
    (tmp_path / "cloudformation" / "jobs.yml").write_text(
        "Resources:\n  Job:\n    Type: AWS::Batch::JobDefinition\n    Properties:\n"
        "      ContainerProperties:\n        Image: x\n        Environment:\n"
        "          - {Name: OWN, Value: '1'}\n"
    )
    project = Project.load(tmp_path, builtins_root=tmp_path / "none")
    assert project.job_definitions["Job"].environment == {"OWN": "1"}
    assert project.region == "us-east-1"  # serverless's default without provider.region


def test_merge_functions_directly() -> None:
    assert lambda_environment({"A": 1, "B": 1}, {"B": 2}, {"C": 3}) == {"A": 1, "B": 2, "C": 3}
    assert job_environment({}, "r", None) == {}
    assert job_environment({"A": 1}, "r", [{"Name": "A", "Value": 2}]) == {
        "A": 2,
        "AWS_REGION": "r",
        "AWS_DEFAULT_REGION": "r",
    }
