"""`cirro init` and `cirro create`, and the `make demo` sequence end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cirrostratus.cli import cli


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
        ["create", "workflow", "my-workflow", "A workflow"],
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
