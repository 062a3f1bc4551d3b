"""Built-ins load first; a project component of the same name overrides one and says so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cirrostratus.project import BUILTINS_ROOT, Project

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Project:
    """A fixture project with no built-ins, so only its own components count."""
    return Project.load(FIXTURES / name, builtins_root=FIXTURES / "no-such-builtins")


def test_builtins_alone_use_cirrus_default_config() -> None:
    project = Project.load(None, builtins_root=FIXTURES / "builtins")
    assert project.root is None
    assert project.region == "us-west-2"
    assert set(project.tasks) == {"publish", "helper"}
    assert all(t.source == "built-in" for t in project.tasks.values())
    env = project.functions["process"].lambda_environment
    assert env["CIRRUS_BASE_WORKFLOW_ARN"].startswith("arn:aws:states:#{AWS::Region}")
    assert env["CIRRUS_PAYLOAD_BUCKET"] == {"Ref": "Payloads"}  # from the default provider env
    assert project.job_definitions["LambdaAsBatchJob"].memory_mb == 2048


def test_project_component_overrides_builtin(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        project = Project.load(FIXTURES / "override", builtins_root=FIXTURES / "builtins")
    publish = project.tasks["publish"]
    assert publish.source == "project" and publish.overrides == "built-in"
    assert publish.lambda_enabled is False  # Cirrus's recipe: a description-only definition
    assert project.lambda_component("publish") is None
    assert project.tasks["helper"].source == "built-in"
    assert project.workflows["publish-only"].overrides == "built-in"
    assert project.workflows["publish-only"].description == "The project's own publish-only"
    assert "Duplicate task declaration 'publish'" in caplog.text
    assert publish.flags() == ["DISABLED", "overrides built-in"]


def test_project_cloudformation_overrides_builtin_resource() -> None:
    project = Project.load(FIXTURES / "override", builtins_root=FIXTURES / "builtins")
    job = project.job_definitions["LambdaAsBatchJob"]
    assert job.source == "cloudformation/jobs.yml"
    assert job.image == "my/own:1"
    assert job.environment["CIRRUS_DATA_BUCKET"] == "data"


def test_package_builtins_root_is_the_builtins_folder() -> None:
    assert BUILTINS_ROOT.name == "builtins"
    assert (BUILTINS_ROOT / "__init__.py").is_file()
    Project.load(None)  # whatever other engineers have put there loads without raising
