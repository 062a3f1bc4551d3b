"""kill -9 of `cirro serve` at the injected points and at random instants, with chained payloads.

Each scenario submits payloads whose output chains to a second workflow, lets an engine die
(SIGKILL, from the engine itself at a `faults.point` or from the test at a random instant),
starts engines again until one drains everything, and counts what was lost, doubly terminal,
stuck, missing or orphaned — all must be 0.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from cirrostratus.engine import faults

from .harness import (
    Figures,
    Project,
    check,
    idle,
    payload,
    show,
    start_engine,
    submit,
    wait_for,
    wait_idle,
    wait_strays,
)

Record = Callable[[str, object], None]


def chained(n: int, tag: str, sleep: float = 0.0) -> list[dict[str, object]]:
    tasks = {"mark": {"sleep": sleep}} if sleep else None
    return [payload("first", f"{tag}{i:05d}", chain=True, tasks=tasks) for i in range(n)]


def drain(project: Project, expected: list[str], seen: set[int]) -> int:
    """A clean engine drains everything; returns 1 when it ignored SIGTERM."""
    engine = start_engine(project)
    try:
        engine.wait_ready()
        seen.update(wait_strays(project.mark, engine.pid))
        wait_idle(project, expected, timeout=120)  # what never settles is counted stuck
    finally:
        stopped = engine.stop()
    return 0 if stopped else 1


def crash_at(project: Project, spec: str, n: int) -> Figures:
    docs = chained(n, "p", sleep=0.005)
    ids = submit(project, docs)
    # a few executions at a time: many flushes, so the N-th hit of a point comes mid-run
    engine = start_engine(project, env={faults.ENV: spec}, concurrency=8)
    wait_for(lambda: engine.proc.poll() is not None or idle(project, ids), 120)
    if engine.proc.poll() is None:
        engine.kill()
        pytest.fail(f"the engine drained everything without reaching {spec}: {engine.stderr()}")
    assert engine.proc.returncode == -9, f"{spec}: {engine.stderr()}"
    seen: set[int] = set()
    not_stopped = drain(project, ids, seen)
    return check(
        project, ids, scenario=f"kill -9 at {spec}", rounds=1, orphans=seen, not_stopped=not_stopped
    )


POINTS = [
    "after_claim",
    "after_start",
    "mid_flush:3",
    "after_complete_commit",
    "after_complete_commit:4",
]


@pytest.mark.parametrize("spec", POINTS)
def test_kill_at_an_injected_point_loses_nothing(
    project: Project, spec: str, record_property: Record
) -> None:
    figures = crash_at(project, spec, 40)
    show(figures, record_property)
    assert figures.clean, figures.line()
    assert figures.states == {"COMPLETED": 80}, figures.line()


@pytest.mark.soak
@pytest.mark.parametrize("spec", [*faults.POINTS, "after_complete_commit:5"])
def test_soak_kill_at_an_injected_point(
    project: Project, spec: str, record_property: Record
) -> None:
    figures = crash_at(project, spec, 200)
    show(figures, record_property)
    assert figures.clean, figures.line()


def random_kills(project: Project, n: int, rounds: int, seed: int, window: float) -> Figures:
    """`rounds` engines each killed at a random instant in `window` seconds after ready."""
    rng = random.Random(seed)
    ids = submit(project, chained(n, "r", sleep=0.002))
    seen: set[int] = set()
    for _ in range(rounds):
        engine = start_engine(project)
        try:
            engine.wait_ready()
            seen.update(wait_strays(project.mark, engine.pid))
            wait_for(lambda e=engine: e.proc.poll() is not None, rng.uniform(0.05, window))
        finally:
            engine.kill()
    # The last engine's workers got SIGKILL from the kernel as it died; give them the same
    # few seconds to finish dying that each earlier round gives (a loaded CI machine is slow).
    seen.update(wait_strays(project.mark))
    not_stopped = drain(project, ids, seen)
    return check(
        project,
        ids,
        scenario=f"random kill -9 (seed {seed})",
        rounds=rounds,
        orphans=seen,
        not_stopped=not_stopped,
    )


def test_random_kills_lose_nothing(project: Project, record_property: Record) -> None:
    figures = random_kills(project, 150, 3, seed=10, window=1.0)
    show(figures, record_property)
    assert figures.clean, figures.line()
    assert figures.states == {"COMPLETED": 300}, figures.line()


@pytest.mark.soak
def test_soak_random_kills_at_scale(project: Project, record_property: Record) -> None:
    figures = random_kills(project, 2500, 10, seed=2026, window=4.0)
    show(figures, record_property)
    assert figures.clean, figures.line()
    assert figures.states == {"COMPLETED": 5000}, figures.line()
