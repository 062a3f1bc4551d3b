"""Killed workers and Batch jobs, and what a killed engine leaves running.

A Lambda worker or a Batch job killed in the middle of a request must fail that payload (a
terminal state with a reason), not hang it; the payloads beside it carry on. After `kill -9`
of the engine its workers and jobs must not outlive it: no process of the test's project may
run beside the next engine except that engine's own.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from cirrostratus.state import SqliteStateStore

from .harness import (
    Project,
    check,
    payload,
    show,
    start_engine,
    submit,
    wait_for,
    wait_idle,
    wait_strays,
)

Record = Callable[[str, object], None]


def pids_in(folder: Path, count: int, timeout: float = 60) -> list[int]:
    """The pids the hanging tasks wrote, once `count` are there."""
    wait_for(lambda: folder.is_dir() and len(list(folder.iterdir())) >= count, timeout)
    found = {p.name: p.read_text() for p in folder.iterdir()} if folder.is_dir() else {}
    assert len(found) >= count, f"{count} task(s) should be running; pid → item: {found}"
    return [int(pid) for pid in found]


def errors(project: Project) -> dict[str, str | None]:
    with SqliteStateStore(project.locations.state_db) as store:
        return {r.payload_id: r.last_error for r in store.iter_query()}


def test_a_killed_worker_fails_its_payload_and_the_rest_complete(
    project: Project, tmp_path: Path, record_property: Record
) -> None:
    pids = tmp_path / "pids"
    hang = payload("hang", "h0", tasks={"hang": {"pids": str(pids), "seconds": 60}})
    others = [payload("first", f"w{i:03d}", chain=True) for i in range(10)]
    engine = start_engine(project)
    try:
        engine.wait_ready()
        ids = submit(project, [hang, *others])
        (worker,) = pids_in(pids, 1)
        os.kill(worker, signal.SIGKILL)
        wait_idle(project, ids, timeout=60)
    finally:
        stopped = engine.stop()
    figures = check(project, ids, scenario="killed Lambda worker", not_stopped=not stopped)
    show(figures, record_property)
    assert figures.clean, figures.line()
    assert figures.states == {"COMPLETED": 20, "FAILED": 1}, figures.line()
    assert errors(project)["rel/workflow-hang/h0"], "the killed worker's payload says why"


def test_a_killed_batch_job_fails_its_payload_and_the_rest_complete(
    project: Project, tmp_path: Path, record_property: Record
) -> None:
    pids = tmp_path / "pids"
    killed = payload("batch", "b0", tasks={"job": {"pids": str(pids), "seconds": 60}})
    others = [payload("batch", f"b{i}") for i in range(1, 3)]
    engine = start_engine(project)
    try:
        engine.wait_ready()
        ids = submit(project, [killed, *others])
        (job,) = pids_in(pids, 1)
        os.kill(job, signal.SIGKILL)
        wait_idle(project, ids, timeout=90)
    finally:
        stopped = engine.stop()
    figures = check(project, ids, scenario="killed Batch job", not_stopped=not stopped)
    show(figures, record_property)
    assert figures.clean, figures.line()
    assert figures.states == {"COMPLETED": 2, "FAILED": 1}, figures.line()
    assert errors(project)["rel/workflow-batch/b0"], "the killed job's payload says why"


def test_workers_and_jobs_do_not_outlive_a_killed_engine(
    project: Project, tmp_path: Path, record_property: Record
) -> None:
    """kill -9 while a Lambda handler and a Batch job are busy: none of them may still be
    running once the next engine is up (they die with the engine, or the next engine ends
    them), and the payloads are resumed to completion."""
    pids = tmp_path / "pids"
    busy = [
        payload("hang", "o0", tasks={"hang": {"pids": str(pids), "seconds": 60}}),
        payload("batch", "o1", tasks={"job": {"pids": str(pids), "seconds": 60}}),
    ]
    first = start_engine(project)
    try:
        first.wait_ready()
        ids = submit(project, busy)
        pids_in(pids, 2, timeout=90)
    finally:
        first.kill()
    second = start_engine(project)
    try:
        second.wait_ready()
        left = wait_strays(project.mark, second.pid, timeout=5)
        wait_idle(project, ids, timeout=90)
    finally:
        stopped = second.stop()
    figures = check(
        project,
        ids,
        scenario="orphans after kill -9",
        rounds=1,
        orphans=left,
        not_stopped=not stopped,
    )
    show(figures, record_property)
    assert figures.clean, figures.line()
    assert figures.states == {"COMPLETED": 2}, figures.line()
