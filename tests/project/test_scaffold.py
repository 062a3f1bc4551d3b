"""Scaffolding: the files Cirrus writes, from templates that load, validate and run."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.project import Project, ProjectError, create_component, init_project, load_file
from cirrostratus.project.workflow_scaffold import step_for

PAYLOAD: dict[str, Any] = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": "item-1",
            "collection": "c",
            "geometry": None,
            "properties": {"datetime": "2020-01-01T00:00:00Z"},
            "links": [],
            "assets": {},
        }
    ],
    "process": [
        {"workflow": "wf", "upload_options": {"path_template": "${collection}/${id}"}, "tasks": {}}
    ],
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    init_project(tmp_path)
    return tmp_path


def load(root: Path) -> Project:
    return Project.load(root, builtins_root=root / "no-builtins")


def test_init_writes_cirrus_files_and_is_idempotent(tmp_path: Path) -> None:
    created = init_project(tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in created}
    assert {
        "cirrus.yml",
        ".gitignore",
        "tasks",
        "workflows",
        "feeders",
        "functions",
        "cloudformation",
    } <= names
    assert {"cloudformation/s3.yml", "cloudformation/vpc.yml"} <= names
    gitignore = (tmp_path / ".gitignore").read_text()
    assert ".cirro/" in gitignore and ".cirrus" in gitignore
    config = load_file(tmp_path / "cirrus.yml")
    assert config["provider"]["region"] == "${opt:region, 'us-west-2'}"
    assert config["provider"]["environment"]["CIRRUS_DATA_BUCKET"] == {"Ref": "Data"}
    (tmp_path / "cirrus.yml").write_text("service: mine\nprovider: {environment: {}}\n")
    assert init_project(tmp_path) == []
    assert (tmp_path / "cirrus.yml").read_text().startswith("service: mine")


def test_lambda_task(root: Path) -> None:
    files = create_component(root, "task", "copy-assets", "Copy: assets", ["lambda"])
    assert sorted(p.name for p in files) == ["README.md", "definition.yml", "lambda_function.py"]
    task = load(root).tasks["copy-assets"]
    assert task.description == "Copy: assets"
    assert task.lambda_enabled and not task.batch_enabled
    assert task.handler == "lambda_function.lambda_handler"
    assert task.iam_statements  # under lambda:, where Cirrus's build reads them


def test_dual_task_runs_its_lambda_in_the_lambda_runner(root: Path) -> None:
    create_component(root, "task", "to-cog", "Convert", ["lambda", "batch"])
    project = load(root)
    task = project.tasks["to-cog"]
    assert task.lambda_enabled and task.batch_enabled
    assert task.job_definitions == ["ToCogAsBatchJob"]
    job = project.job_definitions["ToCogAsBatchJob"]
    assert job.image == "cirrusgeo/run-lambda:0.2.1" and job.runs_lambda
    assert job.command == ["run", "${self:service}-${self:provider.stage}-to-cog", "Ref::url"]
    assert project.job_queues["ToCogJobQueue"].compute_environments == ["ToCogComputeEnvironment"]
    assert task.local_command is None


def test_batch_only_task_gets_task_py_and_local_command(root: Path) -> None:
    files = create_component(root, "task", "heavy", "Heavy work", ["batch"])
    assert sorted(p.name for p in files) == ["README.md", "definition.yml", "task.py"]
    task = load(root).tasks["heavy"]
    assert not task.lambda_enabled and task.batch_enabled
    assert task.local_command == ["python", "task.py", "Ref::url"]


def test_existing_name_is_refused_and_nothing_changes(root: Path) -> None:
    create_component(root, "task", "dup", "first", ["lambda"])
    before = (root / "tasks/dup/definition.yml").read_text()
    with pytest.raises(ProjectError, match="already exists"):
        create_component(root, "task", "dup", "second", ["batch"])
    assert (root / "tasks/dup/definition.yml").read_text() == before
    assert not (root / "tasks/dup/task.py").exists()


@pytest.mark.parametrize("name", ["", "bad name", "../escape", "1st"])
def test_invalid_names_are_refused(root: Path, name: str) -> None:
    with pytest.raises(ProjectError, match="invalid name"):
        create_component(root, "function", name, "x")


def test_task_needs_a_type(root: Path) -> None:
    with pytest.raises(ProjectError, match="-t lambda"):
        create_component(root, "task", "t", "x", [])


def test_scaffolded_project_validates_clean(root: Path) -> None:
    create_component(root, "task", "lam", "Lambda", ["lambda"])
    create_component(root, "task", "bat", "Batch", ["batch"])
    create_component(root, "task", "both", "Both", ["lambda", "batch"])
    create_component(root, "workflow", "wf", "A workflow", workflow_task="lam")
    create_component(root, "feeder", "feed", "A feeder")
    create_component(root, "function", "fn", "A function")
    project = load(root)
    assert project.validate() == []
    assert project.resources["pubPrivateVPC"].type == "AWS::EC2::VPC"  # what cirrus.yml refers to
    workflow = project.workflows["wf"]
    state = workflow.definition["States"]["lam"]
    assert state["Resource"] == {"Fn::GetAtt": ["lam", "Arn"]}
    assert state["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "failure"}
    ]
    assert workflow.definition["States"]["failure"] == {"Type": "Fail"}


def test_lambda_template_runs_with_and_without_context(root: Path) -> None:
    [_, _, handler] = create_component(root, "task", "lam", "Lambda", ["lambda"])
    module = runpy.run_path(str(handler))
    out = module["lambda_handler"](json.loads(json.dumps(PAYLOAD)))
    assert [f["id"] for f in out["features"]] == ["item-1"]
    out = module["lambda_handler"](json.loads(json.dumps(PAYLOAD)), object())
    assert out["process"] == PAYLOAD["process"]


def test_batch_template_reads_url_and_writes_out_json(root: Path, tmp_path: Path) -> None:
    create_component(root, "task", "bat", "Batch", ["batch"])
    url = tmp_path / "in" / "payload.json"
    url.parent.mkdir()
    url.write_text(json.dumps(PAYLOAD))
    subprocess.run(
        [sys.executable, "task.py", url.as_uri()],
        cwd=root / "tasks" / "bat",
        check=True,
        capture_output=True,
    )
    out = json.loads((tmp_path / "in" / "payload_out.json").read_text())
    assert [f["id"] for f in out["features"]] == ["item-1"]


@pytest.mark.parametrize("kind", ["feeder", "function"])
def test_plain_lambda_templates_run(root: Path, kind: str) -> None:
    files = create_component(root, kind, "x", "X")
    module = runpy.run_path(str(files[-1]))
    result = module["lambda_handler"]({"features": []})
    assert isinstance(result, dict)


def test_workflow_steps_follow_how_each_task_runs(root: Path) -> None:
    """A lambda task is a Task state, a batch-only task Cirrus's pre-batch/job/post-batch
    block on its own queue and job definition, a task that is both a Choice between them."""
    create_component(root, "task", "lam", "Lambda", ["lambda"])
    create_component(root, "task", "bat", "Batch", ["batch"])
    create_component(root, "task", "both", "Both", ["lambda", "batch"])
    project = load(root)
    steps = [step_for(project, name) for name in ("lam", "bat", "both")]
    assert [(s.lambda_, s.batch) for s in steps] == [(True, False), (False, True), (True, True)]
    assert (steps[1].job_queue, steps[1].job_definition) == ("BatJobQueue", "BatAsBatchJob")
    create_component(root, "workflow", "wf", "W", workflow_steps=steps)
    project = Project.load(root)  # with the built-ins: pre-batch and post-batch
    assert project.validate() == []
    definition = project.workflows["wf"].definition
    states = definition["States"]
    assert definition["StartAt"] == "lam" and states["lam"]["Next"] == "bat"
    assert states["bat"]["Next"] == "both-lambda-or-batch"
    choice = states["both-lambda-or-batch"]
    assert [rule["Next"] for rule in choice["Choices"]] == ["both", "both-batch"]
    assert choice["Choices"][1]["Variable"] == "$.process.tasks.both.batch"
    assert states["both"]["End"] is True and states["both-batch"]["End"] is True
    branch = states["both-batch"]["Branches"][0]["States"]
    assert branch["both-job"]["Parameters"]["JobQueue"] == "#{BothJobQueue}"
    assert branch["both-pre-batch"]["Resource"] == {"Fn::GetAtt": ["pre-batch", "Arn"]}
    payload = project.workflows["wf"].test_payload
    assert payload is not None and payload["process"]["workflow"] == "wf"
    assert payload["process"]["tasks"] == {"lam": {}, "bat": {}, "both": {"batch": False}}


def test_step_for_an_unknown_or_disabled_task_names_the_choices(root: Path) -> None:
    create_component(root, "task", "lam", "Lambda", ["lambda"])
    create_component(root, "task", "off", "Off", ["lambda"])
    definition = root / "tasks/off/definition.yml"
    definition.write_text(definition.read_text().replace("enabled: true", "enabled: false", 1))
    project = load(root)
    with pytest.raises(ProjectError, match=r"'nope' is no task.*choose one of: lam"):
        step_for(project, "nope")
    with pytest.raises(ProjectError, match=r"'off' is disabled"):
        step_for(project, "off")
