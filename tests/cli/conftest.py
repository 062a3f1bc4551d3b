"""A project that has run payloads, and `cirro` as a user types it (a subprocess, so the
console entry point's error handling is what is tested)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ENGINE_FIXTURE = Path(__file__).parents[1] / "engine" / "fixtures" / "project"

Cirro = Callable[..., subprocess.CompletedProcess[str]]


def payload(workflow: str, *item_ids: str) -> dict[str, Any]:
    """A process payload of one feature per item id, for the engine test project."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "collection": "test-collection",
                "geometry": None,
                "properties": {"datetime": "2024-07-04T00:00:00Z"},
                "assets": {},
                "links": [],
            }
            for item_id in item_ids
        ],
        "process": {
            "workflow": workflow,
            "upload_options": {"path_template": "${collection}/${id}"},
            "tasks": {},
        },
    }


def run_cirro(
    project: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cirrostratus", "--project", str(project), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine test project after one run: q1 COMPLETED (mirror), q2 FAILED (crash)."""
    root = tmp_path_factory.mktemp("ran") / "project"
    shutil.copytree(ENGINE_FIXTURE, root)
    (root / "p.json").write_text(json.dumps([payload("mirror", "q1"), payload("crash", "q2")]))
    done = run_cirro(root, "run", "--quiet", str(root / "p.json"))
    assert done.returncode == 1, done.stderr  # q2 fails by design
    return root


@pytest.fixture
def project(ran: Path, tmp_path: Path) -> Path:
    """A private copy of `ran`, for tests that change it."""
    root = tmp_path / "project"
    shutil.copytree(ran, root)
    return root


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """The engine test project before anything ran."""
    root = tmp_path / "fresh"
    shutil.copytree(ENGINE_FIXTURE, root)
    (root / "p.json").write_text(json.dumps(payload("mirror", "f1")))
    return root


@pytest.fixture
def cirro() -> Cirro:
    return run_cirro


@pytest.fixture
def make_payload() -> Callable[..., dict[str, Any]]:
    return payload
