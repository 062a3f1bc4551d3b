"""What `--aws local` costs: the cold first run, and payloads/s against the default.

Same run, same machine:
- `cold_run_s` / `cold_run_aws_local_s`: a fresh `cirro run -q` of one payload in a fresh
  project, without and with `--aws local` (the latter includes importing moto, starting its
  server and creating the builtin resources); `moto_start_s` is that part alone, in-process;
- `payloads_per_s` / `aws_local_payloads_per_s`: benchmarks/engine.py's workload (N payloads
  through 3 no-op Lambda tasks, durable state) in one `LocalEngine.run`, without and with the
  local AWS started for the engine;
- `boto3_task_payloads_per_s`: the same workflow whose middle task writes each payload to the
  data bucket with boto3 (what a Cirrus task does), under `--aws local` — moto's pace.

Prints one JSON object on its last line.

Usage: python benchmarks/local_aws.py [--payloads N] [--boto3-payloads M] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
BOTO3_TASK = """\
import json
import os

import boto3

s3 = boto3.client("s3")


def handler(event, context=None):
    key = "bench/" + event["features"][0]["id"] + ".json"
    s3.put_object(Bucket=os.environ["CIRRUS_DATA_BUCKET"], Key=key, Body=json.dumps(event))
    return event
"""


def _engine_bench() -> Any:
    spec = importlib.util.spec_from_file_location("engine_bench", HERE / "engine.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rate(root: Path, n: int, *, aws_local: bool, payload: Any) -> float:
    """Payloads/s of one `LocalEngine.run` (the local AWS started first when asked, not timed)."""
    from cirrostratus.engine.local import LocalEngine

    engine = LocalEngine.open(root)
    local = None
    if aws_local:
        from cirrostratus.aws.local.session import LocalAws

        local = LocalAws(engine.project, engine.locations)
        engine.locations = local.start()
    try:
        payloads = [payload(i) for i in range(n)]
        began = time.perf_counter()
        report = asyncio.run(engine.run(payloads))
        took = time.perf_counter() - began
    finally:
        engine.close()
        if local is not None:
            local.close()
    counts = dict(report.counts())
    if counts != {"COMPLETED": n}:
        raise SystemExit(f"the run did not complete every payload: {counts}")
    return n / took


def cold(root: Path, payload: dict[str, Any], *extra: str) -> float:
    (root / "payload.json").write_text(json.dumps(payload))
    cirro = Path(sys.executable).parent / "cirro"
    began = time.perf_counter()
    proc = subprocess.run(
        [str(cirro), "--project", str(root), "run", "-q", *extra, str(root / "payload.json")],
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"cold run failed:\n{proc.stdout}\n{proc.stderr}")
    return took


def moto_start(root: Path) -> float:
    from cirrostratus.aws.local.session import LocalAws
    from cirrostratus.project import Project
    from cirrostratus.storage.locations import Locations

    local = LocalAws(Project.load(root), Locations.for_project(root).ensure())
    began = time.perf_counter()
    local.start()
    took = time.perf_counter() - began
    local.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payloads", type=int, default=3_000)
    parser.add_argument("--boto3-payloads", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=HERE.parent / "build" / "bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    bench = _engine_bench()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        cold_default = cold(bench.make_project(base / "cold-default"), bench.payload(0))
        cold_local = cold(
            bench.make_project(base / "cold-local"), bench.payload(0), "--aws", "local"
        )
        started = moto_start(bench.make_project(base / "start"))
        default_rate = rate(
            bench.make_project(base / "default"),
            args.payloads,
            aws_local=False,
            payload=bench.payload,
        )
        local_rate = rate(
            bench.make_project(base / "local"), args.payloads, aws_local=True, payload=bench.payload
        )
        boto = bench.make_project(base / "boto3")
        (boto / "tasks" / "noop-b" / "lambda_function.py").write_text(BOTO3_TASK)
        boto_rate = rate(boto, args.boto3_payloads, aws_local=True, payload=bench.payload)
        written = len(list((boto / ".cirro" / "data" / "bench").glob("*.json")))
        if written != args.boto3_payloads:
            raise SystemExit(f"the boto3 task wrote {written} objects, not {args.boto3_payloads}")
    result = {
        "payloads": args.payloads,
        "cold_run_s": round(cold_default, 3),
        "cold_run_aws_local_s": round(cold_local, 3),
        "moto_start_s": round(started, 3),
        "payloads_per_s": round(default_rate, 1),
        "aws_local_payloads_per_s": round(local_rate, 1),
        "aws_local_ratio": round(local_rate / default_rate, 3),
        "boto3_payloads": args.boto3_payloads,
        "boto3_task_payloads_per_s": round(boto_rate, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
