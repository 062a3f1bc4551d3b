"""Overriding one of our extra built-ins is quiet; overriding one Cirrus ships warns, as Cirrus."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cirrostratus.project import Project, init_project

WORKFLOW = """name: ${self:service}-${self:provider.stage}-NAME
definition:
  StartAt: done
  States:
    done: {Type: Succeed}
"""


def test_own_mirror_workflow_overrides_the_builtin_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    init_project(tmp_path)
    folder = tmp_path / "workflows" / "mirror"
    folder.mkdir(parents=True)
    (folder / "definition.yml").write_text(WORKFLOW.replace("NAME", "mirror"))
    with caplog.at_level(logging.INFO, logger="cirrostratus.project.project"):
        project = Project.load(tmp_path)
    assert project.workflows["mirror"].overrides == "built-in"
    records = [r for r in caplog.records if "mirror" in r.getMessage()]
    assert records and all(r.levelno == logging.INFO for r in records)


def test_own_copy_assets_task_overrides_the_geo_builtin_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    init_project(tmp_path)
    folder = tmp_path / "tasks" / "copy-assets"
    folder.mkdir(parents=True)
    (folder / "definition.yml").write_text("description: mine\nlambda:\n  handler: x.handler\n")
    with caplog.at_level(logging.INFO, logger="cirrostratus.project.project"):
        project = Project.load(tmp_path)
    assert project.tasks["copy-assets"].overrides == "built-in"
    records = [r for r in caplog.records if "copy-assets" in r.getMessage()]
    assert records and all(r.levelno == logging.INFO for r in records)


def test_own_publish_task_overriding_the_builtin_still_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    init_project(tmp_path)
    folder = tmp_path / "tasks" / "publish"
    folder.mkdir(parents=True)
    (folder / "definition.yml").write_text("description: mine\nlambda:\n  handler: x.handler\n")
    with caplog.at_level(logging.INFO, logger="cirrostratus.project.project"):
        Project.load(tmp_path)
    assert any(r.levelno == logging.WARNING and "publish" in r.getMessage() for r in caplog.records)
