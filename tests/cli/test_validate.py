"""`cirro validate`: every problem with file and key; exit 1 on errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result

from cirrostratus.cli import cli

FIXTURES = Path(__file__).parent.parent / "project" / "fixtures"


def validate(project: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project", str(FIXTURES / project), "validate", *args])


def test_broken_project_exits_1_and_lists_problems() -> None:
    result = validate("broken")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "error: cirrus.yml: service: must be string" in lines
    assert any(
        line.startswith("error: workflows/bad/definition.yml: definition.States.ghost.Resource:")
        for line in lines
    )
    assert any(
        line.startswith("warning: tasks/slow/definition.yml: lambda.timeout:") for line in lines
    )
    assert re.match(r"\d+ errors, \d+ warnings in ", lines[-1])


def test_json_output() -> None:
    result = validate("broken", "--json")
    problems = json.loads(result.output)
    assert {"severity", "file", "key", "message"} == set(problems[0])
    assert any(p["key"] == "lambda.memorySize" for p in problems)


def test_warnings_only_exit_0_unless_strict() -> None:
    result = validate("cirrus09")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output
    assert validate("cirrus09", "--strict").exit_code == 1


def test_outside_a_project_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "validate"])
    assert result.exit_code == 1
    assert "cirro init" in str(result.exception)
