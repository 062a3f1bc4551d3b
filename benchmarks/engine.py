"""Payloads per second through the embedded engine, against a plain-loop ceiling.

10,000 payloads through a workflow of 3 no-op Lambda tasks with durable state (SQLite state
and intake, input/output/history stored per payload), in one `LocalEngine.run`; the same three
handlers called in a plain Python loop with JSON encoding between them as the ceiling; and a
cold `cirro run` of one payload in a fresh process. Prints one JSON object on its last line:

    {"payloads_per_s", "ceiling_per_s", "ratio", "peak_rss_mb", "cold_run_s", ...}

Usage: python benchmarks/engine.py [--payloads N] [--dir DIR]

The project (and so its `.cirro/` state, payloads and histories) lives under DIR, by default
`build/bench/` beside this checkout: a local deployment keeps its state in the project folder,
and a crowded /tmp can be an order of magnitude slower to create files in than the disk the
project is on (seen on the 2-core test machines: 375 µs against 26 µs per mkdir).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASKS = ("noop-a", "noop-b", "noop-c")


def make_project(root: Path) -> Path:
    (root / "workflows/noop3").mkdir(parents=True)
    for group in ("feeders", "functions", "cloudformation"):
        (root / group).mkdir()
    (root / "cirrus.yml").write_text(
        "service: bench\nprovider:\n  name: aws\n  region: us-west-2\n  environment: {}\n"
    )
    states = {}
    for i, name in enumerate(TASKS):
        task = root / "tasks" / name
        task.mkdir(parents=True)
        (task / "definition.yml").write_text(
            f"description: no-op {name}\nlambda:\n  handler: lambda_function.handler\n"
        )
        (task / "README.md").write_text(f"# {name}\n")
        (task / "lambda_function.py").write_text(
            "def handler(event, context=None):\n    return event\n"
        )
        nxt = {"Next": TASKS[i + 1]} if i + 1 < len(TASKS) else {"End": True}
        states[name] = {"Type": "Task", "Resource": {"Fn::GetAtt": [name, "Arn"]}, **nxt}
    definition = {"name": "bench-noop3", "definition": {"StartAt": TASKS[0], "States": states}}
    (root / "workflows/noop3/definition.yml").write_text(json.dumps(definition))
    (root / "workflows/noop3/README.md").write_text("# noop3\n")
    return root


def payload(i: int) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": f"item-{i:06d}",
                "collection": "bench",
                "geometry": {"type": "Point", "coordinates": [i % 180, i % 90]},
                "properties": {"datetime": "2024-01-01T00:00:00Z", "eo:cloud_cover": i % 100},
                "assets": {"data": {"href": f"s3://bucket/item-{i:06d}.tif"}},
                "links": [],
            }
        ],
        "process": {"workflow": "noop3", "upload_options": {}, "tasks": {}},
    }


def ceiling(root: Path, n: int) -> float:
    handlers = []
    for name in TASKS:
        spec = importlib.util.spec_from_file_location(
            f"bench_{name}", root / "tasks" / name / "lambda_function.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handlers.append(module.handler)
    data = [json.dumps(payload(i)) for i in range(n)]
    began = time.perf_counter()
    for text in data:
        for handler in handlers:
            text = json.dumps(handler(json.loads(text), None))
    return n / (time.perf_counter() - began)


def engine_rate(root: Path, n: int) -> float:
    from cirrostratus.engine.local import LocalEngine

    payloads = [payload(i) for i in range(n)]
    engine = LocalEngine.open(root)
    began = time.perf_counter()
    report = asyncio.run(engine.run(payloads))
    took = time.perf_counter() - began
    engine.close()
    counts = dict(report.counts())
    if counts != {"COMPLETED": n}:
        raise SystemExit(f"the engine run did not complete every payload: {counts}")
    return n / took


def cold_run(base: Path) -> float:
    root = make_project(base / "cold")
    (root / "payload.json").write_text(json.dumps(payload(0)))
    cirro = Path(sys.executable).parent / "cirro"
    began = time.perf_counter()
    proc = subprocess.run(
        [str(cirro), "--project", str(root), "run", "-q", str(root / "payload.json")],
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"cold run failed:\n{proc.stdout}\n{proc.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payloads", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path(__file__).parents[1] / "build" / "bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        root = make_project(base / "project")
        top = ceiling(root, args.payloads)
        rate = engine_rate(root, args.payloads)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        cold = cold_run(base)
    result = {
        "payloads": args.payloads,
        "payloads_per_s": round(rate, 1),
        "ceiling_per_s": round(top, 1),
        "ratio": round(rate / top, 4),
        "peak_rss_mb": round(peak, 1),
        "worker_peak_rss_mb": round(worker_peak, 1),
        "cold_run_s": round(cold, 3),
        "dir": str(args.dir),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
