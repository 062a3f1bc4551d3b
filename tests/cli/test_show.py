"""`cirro show`: lists like Cirrus, details with merged environments, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cirrostratus.cli import cli

FIXTURES = Path(__file__).parent.parent / "project" / "fixtures"


def show(*args: str, project: str = "envproject") -> Result:
    return CliRunner().invoke(cli, ["--project", str(FIXTURES / project), "show", *args])


def test_list_tasks_one_line_each() -> None:
    result = show("tasks", project="cirrus09")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "dual (lambda, batch): A dual task" in lines
    assert "bonly (batch): batch only" in lines
    assert "lonly (lambda): lambda only" in lines


@pytest.mark.parametrize(
    ("group", "line"),
    [
        ("workflows", "wf: A workflow"),
        ("feeders", "fd (lambda): A feeder"),
        ("functions", "fn (lambda): A function"),
    ],
)
def test_list_other_groups(group: str, line: str) -> None:
    result = show(group, project="cirrus09")
    assert result.exit_code == 0 and line in result.output.splitlines()


def test_prefix_subcommand_and_detail_with_merged_environment() -> None:
    result = show("task", "both")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Runs on Lambda or Batch" in out
    assert "Lambda enabled: True" in out and "Batch enabled: True" in out
    assert "LAMBDA_ONLY: l" in out and "SHARED: lambda" in out
    assert "Parameters (process.tasks.both):" in out and "required:" in out
    assert "Job definition BothAsBatchJob (merged)" in out
    assert "Local command: python task.py Ref::url" in out


def test_detail_json_has_merged_environments() -> None:
    result = show("tasks", "both", "--json")
    data = json.loads(result.output)
    assert data["lambda"]["environment"]["SHARED"] == "lambda"
    assert data["lambda"]["environment"]["BUCKET"] == {"Ref": "Data"}
    job = data["job_definitions"]["BothAsBatchJob"]
    assert job["environment"]["SHARED"] == "job"
    assert job["environment"]["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert data["parameters"]["required"] == ["assets"]


def test_list_json() -> None:
    data = json.loads(show("tasks", "--json").output)
    names = {t["name"]: t for t in data}
    assert names["plain"]["lambda"]["timeout"] == 6
    assert names["both"]["batch"]["enabled"] is True


def test_show_one_file() -> None:
    result = show("tasks", "both", "readme")
    assert result.exit_code == 0 and result.output == "# both\n"
    result = show("tasks", "both", "handler")
    assert "def lambda_handler" in result.output
    result = show("workflows", "flow", "test_payload")
    assert json.loads(result.output)["process"][0]["workflow"] == "flow"


def test_unknown_name_is_an_error() -> None:
    result = show("tasks", "nope")
    assert result.exit_code == 1
    assert "no task named 'nope'" in str(result.exception)


def test_unknown_file_is_a_usage_error() -> None:
    assert show("tasks", "both", "nonsense").exit_code == 2


def test_workflow_detail() -> None:
    result = show("workflows", "flow")
    assert result.exit_code == 0
    assert "StartAt: both-lambda" in result.output
    assert "State machine name: ${self:service}-${self:provider.stage}-flow" in result.output


def test_cloudformation_list_grouped_by_section() -> None:
    result = show("cloudformation", "-t", "resources")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "[Resources]" in lines and "[Outputs]" not in lines
    assert "Standalone [AWS::Batch::JobDefinition] (cloudformation/batch.yml)" in lines
    assert "BothJobQueue [AWS::Batch::JobQueue] (task both)" in lines


def test_cf_alias_and_single_match_detail() -> None:
    result = show("cf", "bothjobqueue")
    assert result.exit_code == 0
    assert "BothJobQueue [AWS::Batch::JobQueue] (task both)" in result.output
    assert "Max vCPUs (its compute environments): 24" in result.output


def test_cloudformation_json_job_definition() -> None:
    data = json.loads(show("cf", "Standalone", "--json").output)
    assert data["job_definition"]["memory_mb"] == 4096
    assert data["job_definition"]["environment"]["SHARED"] == "standalone"


def test_show_outside_a_project_shows_builtins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CIRRUS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["show", "tasks"])
    assert result.exit_code == 0
    assert all("built-in" in line for line in result.output.splitlines() if line and "(" in line)


def test_explicit_bad_project_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "show", "tasks"])
    assert result.exit_code == 1
    assert "no cirrus.yml" in str(result.exception)


def test_disabled_override_is_listed_as_such(tmp_path: Path) -> None:
    (tmp_path / "cirrus.yml").write_text("service: s\nprovider: {environment: {}}\n")
    (tmp_path / "tasks" / "publish").mkdir(parents=True)
    (tmp_path / "tasks" / "publish" / "definition.yml").write_text("description: switched off\n")
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "show", "tasks"])
    assert "publish (DISABLED, overrides built-in): switched off" in result.output.splitlines()


def test_loading_errors_are_hinted_not_fatal() -> None:
    result = show("tasks", project="broken")
    assert result.exit_code == 0
    assert "slow (lambda): Too slow and too big for Lambda" in result.output
    assert "see `cirro validate`" in result.output


def test_test_payload_is_a_workflow_file_only() -> None:
    """As documented in docs/project.md: tasks have no test_payload, workflows have no handler."""
    assert show("tasks", "both", "test_payload").exit_code == 2
    assert show("workflows", "flow", "handler").exit_code == 2
    assert json.loads(show("workflows", "flow", "test_payload").output)["process"]


def test_cloudformation_lists_cirrus_builtins_first_then_by_name() -> None:
    """As `cirrus show cloudformation`: each section sorted built-ins first, then by name."""
    result = show("cf", "-t", "resources")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if "(" in line]
    builtin = [line for line in lines if line.endswith("(built-in)")]
    assert "LambdaAsBatchJob [AWS::Batch::JobDefinition] (built-in)" in builtin
    assert "EC2SpotRole [AWS::IAM::Role] (built-in)" in builtin
    assert lines[: len(builtin)] == builtin
    assert builtin == sorted(builtin)
    outputs = show("cf", "-t", "outputs").output
    assert "CirrusProcessQueue (built-in)" in outputs.splitlines()


def _fake_dist(site: Path, name: str, summary: str | None, entry_points: str) -> None:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    (info / "METADATA").write_text(meta + (f"Summary: {summary}\n" if summary else ""))
    (info / "entry_points.txt").write_text(entry_points)


def test_show_plugins_lists_installed_cirrus_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_dist(
        tmp_path,
        "cirrus-acme",
        "Acme tasks for Cirrus",
        "[cirrus.plugins]\ncirrus-acme = cirrus_acme\n\n[cirrus.commands]\nacme = cirrus_acme.cli:acme\n",
    )
    _fake_dist(tmp_path, "unrelated", "Not a plugin", "[console_scripts]\nx = y:z\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(cli, ["show", "plugins"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        "cirrus-acme: Acme tasks for Cirrus",
        "acme (cirrus command): Acme tasks for Cirrus",
    ]
    assert "cirro does not load plugins yet" in result.stderr
    as_json = json.loads(CliRunner().invoke(cli, ["show", "plugins", "--json"]).stdout)
    assert [(p["name"], p["group"], p["package"]) for p in as_json] == [
        ("cirrus-acme", "cirrus.plugins", "cirrus-acme"),
        ("acme", "cirrus.commands", "cirrus-acme"),
    ]


def test_show_plugins_without_any(monkeypatch: pytest.MonkeyPatch) -> None:
    from cirrostratus.cli import plugins

    monkeypatch.setattr(plugins, "_entry_points", lambda group: [])
    result = CliRunner().invoke(cli, ["show", "plugins"])
    assert result.exit_code == 0 and result.output == "no plugins installed\n"
