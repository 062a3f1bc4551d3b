"""Optional `parameters:` JSON Schemas checked against a payload's process.tasks entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cirrostratus.project import Project

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(FIXTURES / "envproject", builtins_root=FIXTURES / "none")


def payload(tasks: Any, workflow: str = "other", as_list: bool = True) -> dict[str, Any]:
    process = {"workflow": workflow, "upload_options": {}, "tasks": tasks}
    return {
        "type": "FeatureCollection",
        "features": [],
        "process": [process] if as_list else process,
    }


def test_valid_parameters(project: Project) -> None:
    assert project.validate_payload(payload({"both": {"assets": ["a"], "mode": "fast"}})) == []


def test_wrong_type_names_the_key(project: Project) -> None:
    assert project.validate_payload(payload({"both": {"assets": "a"}})) == [
        "process.tasks.both.assets must be array"
    ]


def test_enum_and_missing_required(project: Project) -> None:
    problems = project.validate_payload(payload({"both": {"mode": "warp"}}, as_list=False))
    assert problems == [
        "process.tasks.both.assets is required",
        'process.tasks.both.mode must be one of: "fast", "slow"',
    ]


def test_task_used_by_workflow_without_entry_is_checked_as_empty(project: Project) -> None:
    assert project.validate_payload(payload({}, workflow="flow")) == [
        "process.tasks.both.assets is required"
    ]


def test_tasks_without_schema_accept_anything(project: Project) -> None:
    assert project.validate_payload(payload({"plain": {"x": 1}, "unknown": 5})) == []


def test_payload_without_process_is_not_our_business(project: Project) -> None:
    assert project.validate_payload({"features": []}) == []


def test_workflow_test_payload_is_valid(project: Project) -> None:
    test_payload = project.workflows["flow"].test_payload
    assert test_payload is not None
    assert project.validate_payload(test_payload) == []
