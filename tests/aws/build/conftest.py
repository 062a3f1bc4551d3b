"""Builds shared by the build tests: the builtins alone, and a project made by `cirro init`
plus `cirro create` of every kind (hyphenated and underscored names on purpose). Built once
per session without pip (vendor=False): templates do not depend on vendored requirements."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cirrostratus.aws.build import BuildResult, build_project
from cirrostratus.cli import cli
from cirrostratus.project import Project

CREATES: list[list[str]] = [
    ["task", "-t", "lambda", "lam-task", "A lambda task"],
    ["task", "-t", "batch", "bat-task", "A batch task"],
    ["task", "-t", "lambda", "-t", "batch", "both_task", "Lambda and batch"],
    ["function", "my-fn", "A function"],
    ["feeder", "my-feed", "A feeder"],
    ["workflow", "wf-one", "Every task", "--task", "lam-task", "--task", "bat-task",
     "--task", "both_task", "--task", "publish"],
]  # fmt: skip


def cirro(project: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--project", str(project), *args])
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result


def make_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    result = CliRunner().invoke(cli, ["init", str(root)])
    assert result.exit_code == 0 and (root / "cirrus.yml").is_file(), result.output
    for args in CREATES:
        cirro(root, "create", *args)
    return root


@pytest.fixture(scope="session")
def full_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("full") / "proj")


@pytest.fixture(scope="session")
def builtins_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return build_project(Project.load(None), out=tmp_path_factory.mktemp("builtins"), vendor=False)


@pytest.fixture(scope="session")
def full_build(full_project: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return build_project(
        Project.load(full_project), out=tmp_path_factory.mktemp("fullbuild"), vendor=False
    )


@pytest.fixture
def build_tmp(tmp_path: Path) -> Callable[..., BuildResult]:
    """Build a small project written from files: `{"cirrus.yml": text, "tasks/x/...": text}`."""

    def build(files: dict[str, str], **kwargs: Any) -> BuildResult:
        root = tmp_path / "proj"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        kwargs.setdefault("vendor", False)
        return build_project(Project.load(root), out=tmp_path / "out", **kwargs)

    return build


def lint_errors(template_path: Path) -> list[str]:
    """cfn-lint's errors (E rules) on a template file, as `rule path: message` lines.

    Warnings and informational rules are skipped up front: the same errors, 7x faster.
    """
    from cfnlint.api import ManualArgs, lint

    config = ManualArgs(regions=["us-west-2"], ignore_checks=["W", "I"])
    matches = lint(template_path.read_text(encoding="utf-8"), config=config)
    return [
        f"{m.rule.id} {'/'.join(str(p) for p in m.path)}: {m.message}"
        for m in matches
        if m.rule.id.startswith("E")
    ]
