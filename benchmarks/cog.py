"""Scenes per second converting a 2048x2048x3 uint16 scene to a COG: the builtin convert-to-cog
task through `cirro run` against rio-cogeo called directly in a loop, in the same run.

- direct: `cog_translate` in a loop, the task's profile (deflate, 512-pixel tiles, average
  overviews), one scene after another (GDAL's own threads use the cores it can);
- cirro: `cirro run` of BENCH_SCENES payloads (one scene each, default 24: a small batch)
  through a one-state workflow running convert-to-cog, which also reads the scene in, writes
  the COG to the data store and computes the raster/projection fields; the wall time of the
  whole command, engine and worker start included. Its workers run scenes side by side.
- start: what one `cirro run` costs before and after its work, measured as a one-scene run
  minus one direct scene (the engine starting, a worker importing stactask and rio-cogeo,
  the summary). A batch of a few scenes is dominated by it; this is why the batch is 24.
- the two take turns, BENCH_ROUNDS times (default 2), and the figures sum the rounds.
- CPU seconds per scene of each (the cirro figure counts the engine and its workers), which
  says what the engine costs in work rather than in wall time.
Prints one JSON object on the last line: {"cirro_scenes_per_s", "direct_scenes_per_s",
"ratio", "cirro_start_s", ...}; the target is a ratio of at least 0.9.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cirrostratus.geo.cog import DEFAULTS, convert
from cirrostratus.geo.synthetic import scene_item, write_scene

SCENES = int(os.environ.get("BENCH_SCENES", "24"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
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


def direct(src: Path, out: Path, scenes: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for `scenes` scenes through rio-cogeo alone."""
    cpu = time.process_time()
    started = time.perf_counter()
    for n in range(scenes):
        convert(src, out / f"direct-{n}.tif", dict(DEFAULTS))
    return time.perf_counter() - started, time.process_time() - cpu


def children_cpu() -> float:
    """CPU seconds of every finished child process and its waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def through_cirro(
    src: Path, facts: dict[str, Any], project: Path, scenes: int
) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `cirro run` of `scenes` payloads, in a new project."""
    from datetime import UTC, datetime

    cirro = Path(sys.executable).with_name("cirro")
    subprocess.run([str(cirro), "init", str(project)], check=True, capture_output=True)
    (project / "workflows" / "cog-only").mkdir(parents=True)
    (project / "workflows" / "cog-only" / "definition.yml").write_text(WORKFLOW)
    lines = []
    for n in range(scenes):
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
    cpu = children_cpu()
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
    return elapsed, children_cpu() - cpu


def main() -> None:
    direct_wall = direct_cpu = cirro_wall = cirro_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="cirro-bench-cog-") as tmp:
        work = Path(tmp)
        src = work / "scene.tif"
        facts = write_scene(src, size=SIZE, bands=3, dtype="uint16")
        direct(src, work, 1)  # warm the page cache and GDAL once, for both
        # the two sides take turns, so a machine that speeds up or slows down during the
        # run (a shared one does) weighs on both alike
        for n in range(ROUNDS):
            wall, cpu = direct(src, work, SCENES)
            direct_wall, direct_cpu = direct_wall + wall, direct_cpu + cpu
            wall, cpu = through_cirro(src, facts, work / f"batch-{n}", SCENES)
            cirro_wall, cirro_cpu = cirro_wall + wall, cirro_cpu + cpu
        one_wall, _ = through_cirro(src, facts, work / "one", 1)
        one_direct, _ = direct(src, work, 1)
    scenes = SCENES * ROUNDS
    result = {
        "benchmark": "cog",
        "scene": f"{SIZE}x{SIZE}x3 uint16",
        "scenes": SCENES,
        "rounds": ROUNDS,
        "cores": os.cpu_count(),
        "direct_scenes_per_s": round(scenes / direct_wall, 3),
        "cirro_scenes_per_s": round(scenes / cirro_wall, 3),
        "ratio": round(direct_wall / cirro_wall, 3),
        "target_ratio": 0.9,
        "cirro_start_s": round(one_wall - one_direct, 2),
        "direct_cpu_s_per_scene": round(direct_cpu / scenes, 3),
        "cirro_cpu_s_per_scene": round(cirro_cpu / scenes, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
