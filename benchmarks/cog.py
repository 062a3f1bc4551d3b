"""Scenes per second converting a 2048x2048x3 uint16 scene to a COG: the builtin convert-to-cog
task through `cirro run` against rio-cogeo called directly in a loop, in the same run.

- direct: `cog_translate` in a loop, the task's profile (deflate, 512-pixel tiles, average
  overviews), one scene after another;
- cirro: `cirro run` of N payloads (one scene each) through a one-state workflow running
  convert-to-cog, which also reads the scene in, writes the COG to the data store and
  computes the raster/projection fields; the wall time of the whole command, worker start
  included.
Prints one JSON object on the last line: {"cirro_scenes_per_s", "direct_scenes_per_s",
"ratio", ...}; the target is a ratio of at least 0.9.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cirrostratus.geo.cog import DEFAULTS, convert
from cirrostratus.geo.synthetic import scene_item, write_scene

SCENES = int(os.environ.get("BENCH_SCENES", "6"))
SIZE = 2048
WORKFLOW = """name: cog-only
definition:
  StartAt: convert
  States:
    convert:
      Type: Task
      Resource: !GetAtt convert-to-cog.Arn
      End: true
"""


def direct(src: Path, out: Path) -> float:
    """Scenes per second through rio-cogeo alone."""
    started = time.perf_counter()
    for n in range(SCENES):
        convert(src, out / f"direct-{n}.tif", dict(DEFAULTS))
    return SCENES / (time.perf_counter() - started)


def through_cirro(src: Path, facts: dict, work: Path) -> float:
    """Scenes per second through `cirro run` (the whole command)."""
    from datetime import UTC, datetime

    cirro = Path(sys.executable).with_name("cirro")
    project = work / "project"
    subprocess.run([str(cirro), "init", str(project)], check=True, capture_output=True)
    (project / "workflows" / "cog-only").mkdir(parents=True)
    (project / "workflows" / "cog-only" / "definition.yml").write_text(WORKFLOW)
    lines = []
    for n in range(SCENES):
        item = scene_item(
            f"scene-{n}",
            str(src),
            facts,
            when=datetime(2024, 6, 1, tzinfo=UTC),
            collection="bench",
            collection_href="collection.json",
        )
        process = {"workflow": "cog-only", "upload_options": {"path_template": "${id}"}}
        lines.append(
            json.dumps({"type": "FeatureCollection", "features": [item], "process": process})
        )
    (project / "payloads.jsonl").write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    done = subprocess.run(
        [str(cirro), "run", "-q", "--no-task-envs", "payloads.jsonl"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"cirro run failed:\n{done.stdout}\n{done.stderr}")
    return SCENES / elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cirro-bench-cog-") as tmp:
        work = Path(tmp)
        src = work / "scene.tif"
        facts = write_scene(src, size=SIZE, bands=3, dtype="uint16")
        direct(src, work)  # warm the page cache and GDAL once, for both
        direct_rate = direct(src, work)
        cirro_rate = through_cirro(src, facts, work)
    result = {
        "benchmark": "cog",
        "scene": f"{SIZE}x{SIZE}x3 uint16",
        "scenes": SCENES,
        "cores": os.cpu_count(),
        "direct_scenes_per_s": round(direct_rate, 3),
        "cirro_scenes_per_s": round(cirro_rate, 3),
        "ratio": round(cirro_rate / direct_rate, 3),
        "target_ratio": 0.9,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
