"""`cirro build` (with --diff), `cirro clean`, `cirro show tasks --fit`, `cirro validate`'s note."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from cirrostratus.cli import cli
from cirrostratus.cli.errors import CliError
from cirrostratus.engine.history import HistoryStore

from .conftest import make_project


def cirro(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project", str(project), *args])


@pytest.fixture
def project(full_project: Path, tmp_path: Path) -> Path:
    """A private copy of the init + create project (tests here change it)."""
    copy = tmp_path / "proj"
    shutil.copytree(full_project, copy, ignore=shutil.ignore_patterns(".cirro"))
    return copy


def test_build_and_diff(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # builtins reduced to their CloudFormation: zips that carry the library would change
    # whenever its source does, and this test reads "no changes" literally
    from cirrostratus.project import project as project_module

    builtins = tmp_path / "builtins"
    shutil.copytree(project_module.BUILTINS_ROOT / "cloudformation", builtins / "cloudformation")
    monkeypatch.setattr(project_module, "BUILTINS_ROOT", builtins)
    shutil.rmtree(project / "workflows" / "wf-one")  # it runs builtin lambdas
    first = cirro(project, "build", "--no-vendor", "--diff")
    assert first.exit_code == 0, first.output
    assert "no previous build" in first.output
    assert (project / ".cirro" / "build" / "template.json").is_file()
    assert (project / ".cirro" / "build" / "template.yaml").is_file()
    again = cirro(project, "build", "--no-vendor", "--diff")
    assert "no changes since the last build" in again.output
    definition = project / "tasks" / "lam-task" / "definition.yml"
    definition.write_text(definition.read_text().replace("memorySize: 128", "memorySize: 512"))
    (project / "tasks" / "lam-task" / "lambda_function.py").write_text("# changed\n")
    changed = cirro(project, "build", "--no-vendor", "--diff")
    lines = changed.output.splitlines()
    assert any(
        line.startswith("~ LamDashtaskLambdaFunction [AWS::Lambda::Function]")
        and "MemorySize" in line
        and "Code" in line
        for line in lines
    ), lines
    versions = [line[0] for line in lines if "LamDashtaskLambdaVersion" in line]
    assert sorted(versions) == ["+", "-"]  # new code, new version
    assert not [line for line in lines if "MyDashfnLambdaFunction" in line]


def test_build_error_is_a_clean_message(project: Path) -> None:
    (project / "cloudformation" / "bad.yml").write_text(
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Ref Nowhere}\n"
    )
    result = cirro(project, "build", "--no-vendor")
    assert isinstance(result.exception, CliError)  # main() prints it as one `Error:` line
    assert result.exception.exit_code == 1
    assert "refers to Nowhere" in str(result.exception)


def test_clean_removes_build_output(project: Path) -> None:
    assert cirro(project, "build", "--no-vendor").exit_code == 0
    result = cirro(project, "clean")
    assert result.exit_code == 0, result.output
    assert not (project / ".cirro" / "build").exists()


def test_validate_keeps_the_top_level_iam_note(project: Path) -> None:
    definition = project / "tasks" / "lam-task" / "definition.yml"
    definition.write_text(
        definition.read_text()
        + "iamRoleStatements:\n  - {Effect: Allow, Action: [s3:GetObject], Resource: '*'}\n"
    )
    result = cirro(project, "validate")
    assert "top-level statements are ignored by Cirrus's build" in result.output


def _history(project: Path, rows: list[tuple[str, str, float]]) -> None:
    """Executions as the engine records them: (workflow, state, seconds)."""
    store = HistoryStore(project / ".cirro" / "history.db")
    store.put_many(
        [
            (
                f"c/workflow-{workflow}/item-{i}",
                f"exec-{i}",
                "SUCCEEDED",
                orjson.dumps(
                    {
                        "status": "SUCCEEDED",
                        "error": None,
                        "states": [
                            {
                                "state": state,
                                "type": "Task",
                                "entered": 0.0,
                                "seconds": seconds,
                                "error": None,
                            }
                        ],
                    }
                ),
            )
            for i, (workflow, state, seconds) in enumerate(rows)
        ]
    )
    store.close()


def test_fit_from_recorded_runs(project: Path) -> None:
    _history(
        project,
        [
            ("wf-one", "lam-task", 2.0),
            ("wf-one", "lam-task", 3.5),
            ("wf-one", "both_task", 1200.0),  # a Parallel block's inner states count too
        ],
    )
    peaks = project / ".cirro" / "logs" / "lambda" / "peak-memory.json"
    peaks.parent.mkdir(parents=True, exist_ok=True)
    peaks.write_text(json.dumps({"lam-task": {"peak_mb": 90.0}, "my-fn": {"peak_mb": 1.0}}))
    result = cirro(project, "show", "tasks", "--fit", "--json")
    assert result.exit_code == 0, result.output
    fits = {f["task"]: f for f in json.loads(result.output)}
    lam = fits["lam-task"]
    assert (lam["runs"], lam["max_seconds"], lam["peak_mb"]) == (2, 3.5, 90.0)
    assert (lam["fits_lambda"], lam["use"]) == (True, "lambda")
    assert lam["package_bytes"] > 0
    both = fits["both_task"]
    assert (both["fits_lambda"], both["use"]) == (False, "batch")
    assert "duration over Lambda's limit" in both["reasons"]
    assert fits["bat-task"]["use"] == "unknown"  # never ran
    text = cirro(project, "show", "tasks", "--fit")
    assert (
        "both_task (lambda, batch)" in text.output
        and "does not fit Lambda, use batch" in text.output
    )


def test_fit_after_a_real_local_run(tmp_path: Path) -> None:
    root = make_project(tmp_path / "run")
    payload = root / "workflows" / "wf-one" / "test-payload.json"
    assert payload.is_file()
    # run the builtin-only part: a workflow of the lambda task alone
    assert (
        cirro(root, "create", "workflow", "just-lam", "one task", "--task", "lam-task").exit_code
        == 0
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cirrostratus",
            "--project",
            str(root),
            "run",
            str(root / "workflows" / "just-lam" / "test-payload.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    fits = {
        f["task"]: f for f in json.loads(cirro(root, "show", "tasks", "--fit", "--json").output)
    }
    lam = fits["lam-task"]
    assert lam["runs"] == 1 and lam["max_seconds"] > 0
    assert lam["peak_mb"] > 1  # the worker's high-water mark, recorded by the pool
    assert lam["use"] == "lambda"
