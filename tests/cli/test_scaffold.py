"""`cirro init` and `cirro create`, and the `make demo` sequence end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cirrostratus.cli import cli
from cirrostratus.cli.errors import CliError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CIRRUS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    return tmp_path


def test_demo_sequence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What examples/demo.sh (make demo) does, with the package's real built-ins."""
    monkeypatch.delenv("CIRRUS_DIR", raising=False)
    runner = CliRunner()
    work = tmp_path / "demo"
    result = runner.invoke(cli, ["init", str(work)])
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(work)
    for args in (
        ["create", "task", "-t", "lambda", "lambda-task", "A lambda-only task"],
        ["create", "task", "-t", "batch", "batch-task", "A batch-only task"],
        [
            "create",
            "task",
            "-t",
            "lambda",
            "-t",
            "batch",
            "dual-task",
            "A task that runs on Lambda or Batch",
        ],
        [
            "create",
            "workflow",
            "my-workflow",
            "Each kind of task, then publish",
            "--task",
            "lambda-task",
            "--task",
            "batch-task",
            "--task",
            "dual-task",
            "--task",
            "publish",
        ],
        ["create", "feeder", "my-feeder", "A feeder"],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    result = runner.invoke(cli, ["show", "tasks"])
    assert result.exit_code == 0
    assert "batch-task (batch): A batch-only task" in result.output
    assert "dual-task (lambda, batch): A task that runs on Lambda or Batch" in result.output
    assert "lambda-task (lambda): A lambda-only task" in result.output
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert "error:" not in result.output


def test_init_is_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    (tmp_path / "cirrus.yml").write_text("service: mine\nprovider: {environment: {}}\n")
    result = runner.invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 0 and "nothing to do" in result.output
    assert (tmp_path / "cirrus.yml").read_text().startswith("service: mine")


def test_init_uses_project_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(tmp_path / "p"), "init"])
    assert result.exit_code == 0
    assert (tmp_path / "p" / "cirrus.yml").is_file()


def test_create_task_files(project: Path) -> None:
    result = CliRunner().invoke(cli, ["create", "task", "-t", "batch", "heavy", "Heavy"])
    assert result.exit_code == 0
    assert "task heavy created" in result.output
    assert sorted(p.name for p in (project / "tasks" / "heavy").iterdir()) == [
        "README.md",
        "definition.yml",
        "task.py",
    ]


def test_create_prefix_and_workflow_task_option(project: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["create", "t", "-t", "lambda", "lam", "L"]).exit_code == 0
    result = runner.invoke(cli, ["create", "workflow", "--task", "lam", "wf", "W"])
    assert result.exit_code == 0
    assert "Fn::GetAtt: [lam, Arn]" in (project / "workflows/wf/definition.yml").read_text()


def test_create_existing_name_fails_and_changes_nothing(project: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["create", "function", "fn", "first"]).exit_code == 0
    before = (project / "functions/fn/definition.yml").read_text()
    result = runner.invoke(cli, ["create", "function", "fn", "second"])
    assert result.exit_code == 1
    assert "already exists" in str(result.exception)
    assert (project / "functions/fn/definition.yml").read_text() == before


def test_create_task_without_type_is_a_usage_error(project: Path) -> None:
    result = CliRunner().invoke(cli, ["create", "task", "x", "X"])
    assert result.exit_code == 2
    assert "--type" in result.output


def test_create_outside_a_project_says_how_to_fix(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cirrostratus", "create", "function", "fn", "x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 1
    assert "no Cirrus project found" in proc.stderr and "cirro init" in proc.stderr
    assert "Traceback" not in proc.stderr


def _cirro(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CIRRUS_DIR"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, "-m", "cirrostratus", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def test_created_workflows_run_for_every_kind_of_task(tmp_path: Path) -> None:
    """`create workflow --task` writes what runs: a lambda task, a batch-only task (pre-batch,
    the job, post-batch) and a task that is both (a Choice on process.tasks.<task>.batch,
    both branches taken), each through `cirro run` to COMPLETED."""
    project = tmp_path / "p"
    assert _cirro(tmp_path, "init", str(project)).returncode == 0
    for args in (
        ("create", "task", "-t", "lambda", "lam", "Lambda only"),
        ("create", "task", "-t", "batch", "bat", "Batch only"),
        ("create", "task", "-t", "lambda", "-t", "batch", "both", "Either"),
        ("create", "workflow", "w-lam", "Lambda", "--task", "lam"),
        ("create", "workflow", "w-bat", "Batch", "--task", "bat"),
        (
            "create",
            "workflow",
            "w-both",
            "Either, then publish",
            "--task",
            "both",
            "--task",
            "publish",
        ),
    ):
        result = _cirro(project, *args)
        assert result.returncode == 0, (args, result.stderr)
    states = {
        name: yaml.safe_load((project / f"workflows/{name}/definition.yml").read_text())[
            "definition"
        ]["States"]
        for name in ("w-lam", "w-bat", "w-both")
    }
    assert states["w-lam"]["lam"]["Resource"] == {"Fn::GetAtt": ["lam", "Arn"]}
    batch_block = states["w-bat"]["bat"]
    assert batch_block["Type"] == "Parallel"
    job = batch_block["Branches"][0]["States"]["bat-job"]
    assert job["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    assert job["Parameters"]["JobDefinition"] == "#{BatAsBatchJob}"
    assert states["w-both"]["both-lambda-or-batch"]["Type"] == "Choice"
    result = _cirro(project, "validate")
    assert result.returncode == 0 and "error" not in result.stdout, result.stdout

    payloads = tmp_path / "payloads"
    payloads.mkdir()
    for name in ("w-lam", "w-bat", "w-both"):
        text = (project / f"workflows/{name}/test-payload.json").read_text()
        (payloads / f"{name}.json").write_text(text)
    on_batch = json.loads((payloads / "w-both.json").read_text())
    assert on_batch["process"]["tasks"]["both"] == {"batch": False}
    on_batch["process"]["tasks"]["both"]["batch"] = True
    on_batch["features"][0]["id"] = "on-batch"
    (payloads / "w-both-batch.json").write_text(json.dumps(on_batch))
    run = _cirro(project, "run", "-q", str(payloads / "*.json"))

    def ran(payload_id: str) -> list[str]:
        shown = _cirro(project, "payload", "state", payload_id, "--json")
        record = json.loads(shown.stdout)
        assert record["state"] == "COMPLETED", record
        return [s["state"] for s in record["executions"][-1]["states"]]

    assert ran("example/workflow-w-lam/example-1") == ["lam"]
    assert ran("example/workflow-w-bat/example-1") == [
        "bat",
        "bat/0/bat-pre-batch",
        "bat/0/bat-job",
        "bat/0/bat-post-batch",
    ]
    assert ran("example/workflow-w-both/example-1") == ["both-lambda-or-batch", "both", "publish"]
    assert ran("example/workflow-w-both/on-batch")[:3] == [
        "both-lambda-or-batch",
        "both-batch",
        "both-batch/0/both-pre-batch",
    ]
    assert (project / ".cirro/data/example/on-batch/on-batch.json").is_file()  # published
    assert run.returncode == 0, run.stdout + run.stderr


def test_create_workflow_with_an_unknown_task_is_a_usage_error(project: Path) -> None:
    result = CliRunner().invoke(cli, ["create", "workflow", "wf", "W", "--task", "nope"])
    assert isinstance(result.exception, CliError) and result.exception.exit_code == 2
    assert "'nope' is no task" in str(result.exception) and "publish" in str(result.exception)
    assert not (project / "workflows" / "wf").exists()
