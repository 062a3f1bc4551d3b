"""A project's own copy-assets (Lambda only) overriding the built-in one: the built-in
workflows that would run its Batch form are a warning in `cirro validate`, not an error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_overriding_a_geo_task_leaves_validate_passing(tmp_path: Path) -> None:
    cirro = [sys.executable, "-m", "cirrostratus"]
    project = tmp_path / "p"
    subprocess.run([*cirro, "init", str(project)], check=True, capture_output=True)
    subprocess.run(
        [*cirro, "create", "task", "-t", "lambda", "copy-assets", "mine"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    done = subprocess.run([*cirro, "validate"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error:" not in done.stdout
    assert "#{CopyAssetsJobQueue}" in done.stdout and "mirror-with-preview" in done.stdout
    assert "runs them on Lambda" in done.stdout
