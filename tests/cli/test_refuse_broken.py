"""Commands that run payloads refuse a project that does not load, before starting anything,
with the lines `cirro validate` prints (issue 9, item 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

Cirro = Any  # the `cirro` fixture of conftest.py: run_cirro(project, *args)

COMMANDS = [
    ("run", "p.json"),
    ("submit", "p.json"),
    ("serve",),
    ("rerun", "--state", "FAILED"),
    ("task", "run", "mirror", "p.json"),
]


def break_config(root: Path) -> str:
    with (root / "cirrus.yml").open("a") as fh:
        fh.write("custom: [broken\n")
    return "cirrus.yml: line"


def break_task(root: Path) -> str:
    (root / "tasks" / "mirror" / "definition.yml").write_text("name: mirror\nlambda: [oops\n")
    return "tasks/mirror/definition.yml: line"


@pytest.mark.parametrize("breaker", [break_config, break_task])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_project_that_does_not_load_is_refused(
    fresh: Path, cirro: Cirro, command: tuple[str, ...], breaker: object
) -> None:
    where = breaker(fresh)  # type: ignore[operator]
    args = [str(fresh / a) if a.endswith(".json") else a for a in command]
    result = cirro(fresh, *args)
    assert result.returncode == 2, result.stderr
    assert "does not load" in result.stderr and where in result.stderr
    assert "invalid YAML" in result.stderr and "Traceback" not in result.stderr
    # the same line `cirro validate` prints
    validate = cirro(fresh, "validate")
    first_error = next(line for line in validate.stdout.splitlines() if where in line)
    assert first_error in result.stderr
    # nothing started: no state, no queue
    assert not (fresh / ".cirro" / "state.db").exists()
    assert not (fresh / ".cirro" / "intake.db").exists()


def test_warnings_do_not_refuse(fresh: Path, cirro: Cirro) -> None:
    (fresh / "tasks" / "mirror" / "README.md").unlink()  # a warning in `cirro validate`
    assert "warning" in cirro(fresh, "validate").stdout
    result = cirro(fresh, "run", "--quiet", str(fresh / "p.json"))
    assert result.returncode == 0, result.stderr
