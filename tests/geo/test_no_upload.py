"""Upload off (stactask's `upload=False`, `cirro task run MODULE:Class --no-upload`): the geo
builtins leave what they make in the workdir, point the hrefs there and write no data store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rio_cogeo.cogeo import cog_validate

from cirrostratus.project.project import BUILTINS_ROOT

from .conftest import load_task, payload

CASES = [
    ("copy-assets", "CopyAssets", ["data"]),
    ("convert-to-cog", "ConvertToCog", ["data"]),
    ("add-preview", "AddPreview", ["preview", "thumbnail"]),
]


@pytest.mark.parametrize(("name", "cls", "keys"), CASES, ids=[c[0] for c in CASES])
def test_outputs_stay_in_the_workdir(
    name: str, cls: str, keys: list[str], scenes: list[Any], tmp_path: Path
) -> None:
    task = getattr(load_task(name), cls)
    work = tmp_path / "work"
    data = tmp_path / "data"  # set, so that a write there would show
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CIRRUS_DATA_BUCKET", str(data))
        out = task.handler(
            payload(scenes[:1], {name: {}}), upload=False, workdir=work, save_workdir=True
        )
    item = out["features"][0]
    for key in keys:
        href = Path(item["assets"][key]["href"])
        assert href.parent == work.absolute(), (key, href)
        assert href.stat().st_size > 0
    assert not data.exists()
    if name == "convert-to-cog":
        assert cog_validate(item["assets"]["data"]["href"], quiet=True)[0]


def test_cirro_task_run_no_upload_on_the_task_class(scenes: list[Any], tmp_path: Path) -> None:
    """The command the docs show: a builtin's Task class, --no-upload, --workdir."""
    source = Path(BUILTINS_ROOT) / "tasks" / "convert-to-cog" / "lambda_function.py"
    body = tmp_path / "payload.json"
    body.write_text(json.dumps(payload(scenes[:1], {"convert-to-cog": {}})))
    work = tmp_path / "work"
    cirro = Path(sys.executable).with_name("cirro")
    args = ["task", "run", f"{source}:ConvertToCog", str(body), "--no-upload", "--workdir"]
    done = subprocess.run(
        [str(cirro), *args, str(work)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    href = Path(json.loads(done.stdout)["features"][0]["assets"]["data"]["href"])
    assert href.parent == work and href.exists()


def test_no_upload_on_a_project_task_is_a_usage_error(
    scenes: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A component's handler takes (event, context): the flag cannot reach it, so it is refused
    with the command that works, not ignored."""
    from click.testing import CliRunner

    from cirrostratus.cli import cli as main

    project = tmp_path / "proj"
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(project)]).exit_code == 0
    monkeypatch.chdir(project)
    (project / "payload.json").write_text(json.dumps(payload(scenes[:1], {})))
    done = runner.invoke(main, ["task", "run", "copy-assets", "payload.json", "--no-upload"])
    assert done.exit_code == 2, done.output
    assert "copy-assets/lambda_function.py:CLASS" in done.output
    assert not (project / ".cirro" / "data").exists()
