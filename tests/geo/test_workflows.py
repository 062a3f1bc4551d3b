"""The builtin geo workflows through `cirro run`: mirror-with-preview on the Lambda forms and
cog-archive on the Batch forms (pre-batch, the task's job, post-batch), in one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rio_cogeo.cogeo import cog_validate

from cirrostratus.geo.cog import COG_TYPE
from cirrostratus.storage.keys import url_path


def body(item: dict[str, Any], workflow: str, tasks: dict[str, Any]) -> dict[str, Any]:
    process = {
        "workflow": workflow,
        "upload_options": {"path_template": "${collection}/" + workflow + "/${id}"},
        "tasks": tasks,
    }
    return {"type": "FeatureCollection", "features": [item], "process": process}


def test_lambda_and_batch_forms(scenes: list[Any], tmp_path: Path) -> None:
    cirro = [sys.executable, "-m", "cirrostratus"]
    project = tmp_path / "p"
    subprocess.run([*cirro, "init", str(project)], check=True, capture_output=True)
    batch = {"batch": True}
    lines = [
        body(scenes[0], "mirror-with-preview", {"add-preview": {"thumbnail_size": 32}}),
        body(scenes[1], "cog-archive", {"convert-to-cog": batch, "add-preview": batch}),
    ]
    (project / "in.jsonl").write_text("\n".join(json.dumps(b) for b in lines) + "\n")
    done = subprocess.run(
        [*cirro, "run", "--json", "--no-task-envs", "in.jsonl"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    data = project / ".cirro" / "data" / "synthetic"
    mirrored = json.loads((data / "mirror-with-preview/scene-00/scene-00.json").read_text())
    copied = Path(url_path(mirrored["assets"]["data"]["href"]))
    assert copied.read_bytes() == Path(scenes[0]["assets"]["data"]["href"]).read_bytes()
    assert mirrored["assets"]["thumbnail"]["roles"] == ["thumbnail"]
    archived = json.loads((data / "cog-archive/scene-01/scene-01.json").read_text())
    cog = archived["assets"]["data"]
    assert cog["type"] == COG_TYPE and cog_validate(url_path(cog["href"]), quiet=True)[0]
    assert {"preview", "thumbnail"} <= set(archived["assets"])
    jobs = sorted(p.name for p in (project / ".cirro" / "logs" / "batch").iterdir())
    assert jobs == ["cirrus-dev-add-preview", "cirrus-dev-convert-to-cog"]  # ran as Batch jobs
