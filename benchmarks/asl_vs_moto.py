"""Executions per second: our ASL interpreter against moto's, on the same definition.

The reference definition (Pass → Choice → Map over 3 items of Pass → Succeed) is the
conformance case ``reference_pass_choice_map``, so both interpreters are known to agree on
it. Ours compiles it once and runs many executions concurrently on one asyncio loop, as the
engine does; moto runs in process (mock_aws with execute_state_machine) and is driven the
way a boto3 caller would, at its best: start `--moto-batch` executions (200) at once, then
await them all with describe_execution — sweeping the unfinished ones, with no sleep while
any finishes — and repeat. (Driving it 10 at a time with sleeps between polls measured it
at 28-50/s; this way it runs 5-10 times faster on the same machine.) A peer at its best
makes the ratio the figure that holds on any machine.

Run: .venv/bin/python benchmarks/asl_vs_moto.py [--seconds 3] [--concurrency 200]
The last line of stdout is one JSON object: {"ours_per_s", "moto_per_s", "ratio", …}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT / "tests" / "asl" / "conformance"
sys.path.insert(0, str(CONFORMANCE))

from moto_runner import MotoRunner  # noqa: E402

from cirrostratus.asl import compile_definition  # noqa: E402

CASE = json.loads((CONFORMANCE / "cases" / "reference_pass_choice_map.json").read_text())
DEFINITION: dict[str, Any] = CASE["definition"]
INPUT: Any = CASE["input"]
EXPECTED_ITEMS = len(INPUT["items"])


async def _no_tasks(resource: Any, parameters: Any, context: Any) -> Any:
    raise RuntimeError("the reference definition has no Task states")


async def _ours(seconds: float, concurrency: int) -> tuple[int, float]:
    """Run batches of ``concurrency`` executions until ``seconds`` have passed."""
    machine = compile_definition(DEFINITION, name="reference")
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        results = await asyncio.gather(
            *(
                machine.execute(INPUT, invoker=_no_tasks, name=f"run-{done + i}")
                for i in range(concurrency)
            )
        )
        for result in results:
            if result.status != "SUCCEEDED" or len(result.output["results"]) != EXPECTED_ITEMS:
                raise SystemExit(f"our interpreter got a wrong result: {result}")
        done += len(results)
    return done, time.perf_counter() - start


def _await_all(runner: MotoRunner, executions: list[str], timeout: float = 120) -> None:
    """Until every execution has finished: sweep describe_execution over the unfinished ones,
    sleeping (1 ms) only after a sweep in which none finished."""
    waiting = list(executions)
    deadline = time.monotonic() + timeout
    while waiting:
        still = []
        for arn in waiting:
            described = runner.client.describe_execution(executionArn=arn)
            status = described["status"]
            if status == "RUNNING":
                still.append(arn)
            elif status != "SUCCEEDED":
                raise SystemExit(f"moto got a wrong result: {status} {described}")
        if len(still) == len(waiting):
            if time.monotonic() > deadline:
                raise SystemExit(f"moto: {len(still)} executions still RUNNING after {timeout}s")
            time.sleep(0.001)
        waiting = still


def _moto(seconds: float, batch: int) -> tuple[int, float]:
    """Start ``batch`` executions at once, await them all, repeat until ``seconds`` passed."""
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    runner = MotoRunner()
    try:
        arn = runner.create(DEFINITION, "reference")
        _await_all(runner, [runner.start(arn, INPUT) for _ in range(10)])  # warm up moto
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            _await_all(runner, [runner.start(arn, INPUT) for _ in range(batch)])
            done += batch
        return done, time.perf_counter() - start
    finally:
        runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per interpreter")
    parser.add_argument("--concurrency", type=int, default=200, help="our executions at once")
    parser.add_argument("--moto-batch", type=int, default=200, help="moto executions at once")
    args = parser.parse_args()

    asyncio.run(_ours(0.2, args.concurrency))  # warm-up: imports, caches
    ours_n, ours_s = asyncio.run(_ours(args.seconds, args.concurrency))
    moto_n, moto_s = _moto(args.seconds, args.moto_batch)
    ours_rate, moto_rate = ours_n / ours_s, moto_n / moto_s
    print(f"ours: {ours_n} executions in {ours_s:.2f} s ({args.concurrency} at once)")
    print(f"moto: {moto_n} executions in {moto_s:.2f} s ({args.moto_batch} at once)")
    print(
        json.dumps(
            {
                "ours_per_s": round(ours_rate, 1),
                "moto_per_s": round(moto_rate, 1),
                "ratio": round(ours_rate / moto_rate, 1),
                "ours_at_once": args.concurrency,
                "moto_at_once": args.moto_batch,
            }
        )
    )


if __name__ == "__main__":
    main()
