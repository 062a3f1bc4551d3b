"""Two `cirro run`s of one project at once: both finish, each with its own report.

The second run finds the lock held — by a run that may be about to exit — and hands its
payloads over. Staggering the second start walks the race over the first run's life.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .harness import CIRRO, Project, check, ids_of, payload, show

Record = Callable[[str, object], None]


def batch(tag: str, n: int) -> list[dict[str, Any]]:
    return [payload("first", f"{tag}{i:03d}", chain=True) for i in range(n)]


def expected(docs: list[dict[str, Any]]) -> set[str]:
    own = ids_of(docs)
    return set(own) | {f"chained/workflow-second/{pid.rsplit('/', 1)[1]}" for pid in own}


def report(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    assert lines, f"no JSON report in {stdout!r}"
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def start_run(project: Project, path: Path, name: str) -> subprocess.Popen[str]:
    command = [*CIRRO, "--project", str(project.root), "run", "-q", "--json", str(path)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=project.root
    )


@pytest.mark.parametrize("stagger", [0.0, 1.0, 2.0, 3.0])
def test_two_runs_at_once_both_finish_with_their_own_reports(
    project: Project, stagger: float, record_property: Record
) -> None:
    problems: list[str] = []
    procs = []
    wanted = []
    for name in ("a", "b"):
        docs = batch(name, 30)
        path = project.root / f"{name}.json"
        path.write_text(json.dumps(docs))
        if name == "b" and stagger:
            time.sleep(stagger)
        procs.append(start_run(project, path, name))
        wanted.append(expected(docs))
    for proc, own, name in zip(procs, wanted, "ab", strict=True):
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            problems.append(f"run {name} never returned: {err[-300:]}")
            continue
        if proc.returncode != 0:
            problems.append(f"run {name} exited {proc.returncode}: {err[-300:]}")
        if "Traceback" in err:
            problems.append(f"run {name} printed a traceback: {err[-300:]}")
        try:
            got = {r["payload_id"] for r in report(out)["payloads"]}
        except (AssertionError, KeyError, json.JSONDecodeError) as exc:
            problems.append(f"run {name}: no report ({exc})")
            continue
        if got != own:
            problems.append(
                f"run {name} reported {len(got - own)} payload(s) not its own and "
                f"missed {len(own - got)} of its own (e.g. {sorted(own - got)[:2]}): {err[-300:]}"
            )
    everything = wanted[0] | wanted[1]
    firsts = [pid for pid in everything if pid.startswith("rel/")]
    figures = check(
        project,
        firsts,
        scenario=f"two cirro runs, the second {stagger:g}s later",
        not_stopped=sum(1 for p in problems if "never returned" in p),
    )
    show(figures, record_property)
    assert not problems, "; ".join(problems)
    assert figures.clean, figures.line()
    assert figures.states == {"COMPLETED": 120}, figures.line()
