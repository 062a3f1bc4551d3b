"""Workers and Batch jobs die with the engine (kill -9), and a new engine kills leftovers.

The "engine" is a small script run as a subprocess: a LambdaPool running a handler that
spins forever and a BatchRunner job that starts a grandchild of its own. The test kills the
script with SIGKILL and looks at /proc (psutil is not a dependency).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cirrostratus.runtime import BatchRunner
from cirrostratus.runtime.children import ChildRecords, reap, start_time

from .conftest import PROBE

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")

ENGINE = """
import asyncio, sys
from pathlib import Path
from cirrostratus.runtime import BatchRunner, JobSpec, LambdaPool, LambdaSpec

root = Path(sys.argv[1])
logs = root / ".cirro" / "logs"

async def main():
    spec = LambdaSpec(name="spin", directory=Path(sys.argv[2]),
                      handler="lambda_function.spin", environment={}, timeout_s=300)
    pool = LambdaPool({"spin": spec}, logs_dir=logs)
    job = JobSpec(logical_id="Job", name="job", directory=root,
                  local_command=["python", "job.py"])
    runner = BatchRunner(jobs={"Job": job}, logs_dir=logs)
    await asyncio.gather(
        pool.invoke("spin", {"pidfile": str(root / "worker.pid")}),
        runner.submit_job({"JobDefinition": "Job", "JobName": "job"}),
    )

asyncio.run(main())
"""

JOB = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
with open("grandchild.pid.tmp", "w") as fh:
    fh.write(str(child.pid))
os.rename("grandchild.pid.tmp", "grandchild.pid")
with open("job.pid", "w") as fh:
    fh.write(str(os.getpid()))
while True:
    time.sleep(1)
"""


def _alive(pid: int) -> bool:
    return start_time(pid) is not None  # a zombie counts as ended


def _wait(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def engine_dir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "engine.py").write_text(textwrap.dedent(ENGINE))
    (tmp_path / "job.py").write_text(textwrap.dedent(JOB))
    yield tmp_path
    for name in ("worker.pid", "job.pid", "grandchild.pid"):  # never leave a spinner behind
        path = tmp_path / name
        if path.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(path.read_text()), signal.SIGKILL)


def test_children_die_with_a_killed_engine_and_the_next_one_kills_leftovers(
    engine_dir: Path,
) -> None:
    engine = subprocess.Popen(
        [sys.executable, str(engine_dir / "engine.py"), str(engine_dir), str(PROBE)],
        cwd=engine_dir,
    )
    try:
        pidfiles = [engine_dir / n for n in ("worker.pid", "job.pid", "grandchild.pid")]
        assert _wait(lambda: all(p.exists() and p.read_text() for p in pidfiles), 60)
        worker, job, grandchild = (int(p.read_text()) for p in pidfiles)
        pids_dir = engine_dir / ".cirro" / "pids"
        assert {p.stem for p in pids_dir.glob("*.json")} == {str(worker), str(job)}
        assert all(_alive(p) for p in (worker, job, grandchild))
    finally:
        engine.kill()
        engine.wait()
    # the worker and the job leader get SIGKILL from the kernel when the engine dies
    assert _wait(lambda: not _alive(worker) and not _alive(job), 10), "children outlived it"
    # the job's own child is not told; the next engine's runner kills its whole group
    assert _alive(grandchild)
    BatchRunner(jobs={}, logs_dir=engine_dir / ".cirro" / "logs")
    assert not _alive(grandchild)
    assert not list(pids_dir.glob("*.json"))


def test_a_live_engine_keeps_its_children(tmp_path: Path) -> None:
    """Reaping only touches children of engines that are gone: a second process (a
    `cirro task run` beside `serve`) never kills the serving engine's workers."""
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        records = ChildRecords(tmp_path)  # owned by this (live) process
        records.add(sleeper.pid, "lambda")
        assert reap(tmp_path) == []
        assert sleeper.poll() is None
        assert (tmp_path / f"{sleeper.pid}.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_reused_pid_is_left_alone(tmp_path: Path) -> None:
    """A record whose pid now belongs to another process (other start time) kills nothing."""
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        record = (
            f'{{"pid": {sleeper.pid}, "start": 1, "owner": 999999999, "owner_start": 1, '
            '"kind": "batch", "argv": []}'
        )
        (tmp_path / f"{sleeper.pid}.json").write_text(record)
        assert reap(tmp_path) == []
        assert sleeper.poll() is None
        assert not (tmp_path / f"{sleeper.pid}.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


SPIN_PROJECT = {
    "cirrus.yml": "service: lifetest\nprovider:\n  name: aws\n  stage: dev\n  region: us-west-2\n",
    "tasks/spin/README.md": "# spin\n",
    "tasks/spin/definition.yml": (
        "description: writes its pid, then spins\n"
        "lambda:\n  handler: lambda_function.handler\n  timeout: 5\n"
    ),
    "tasks/spin/lambda_function.py": (
        "import os\nfrom pathlib import Path\n\n\ndef handler(event, context):\n"
        "    Path(os.environ['CIRRO_HOME'], 'spin.pid').write_text(str(os.getpid()))\n"
        "    while True:\n        pass\n"
    ),
    "workflows/spin/README.md": "# spin\n",
    "workflows/spin/definition.yml": (
        "name: lifetest-dev-spin\ndefinition:\n  StartAt: spin\n  States:\n"
        "    spin:\n      Type: Task\n      Resource: !GetAtt spin.Arn\n      End: true\n"
    ),
}


def test_kill_9_of_serve_ends_its_workers(tmp_path: Path) -> None:
    """The issue's case: a handler spinning past its timeout, then `kill -9` of `cirro serve`."""
    from cirrostratus.engine.local import LocalEngine

    for name, text in SPIN_PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    payload = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": "a", "collection": "c", "properties": {}}],
        "process": [{"workflow": "spin", "upload_options": {}, "tasks": {}}],
    }
    engine = LocalEngine.open(tmp_path)
    engine.submit([payload])
    engine.close()
    serve = subprocess.Popen(
        [sys.executable, "-m", "cirrostratus", "--project", str(tmp_path), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pidfile = tmp_path / ".cirro" / "spin.pid"
    worker = 0
    try:
        assert _wait(lambda: pidfile.exists() and bool(pidfile.read_text()), 60)
        worker = int(pidfile.read_text())
        assert (tmp_path / ".cirro" / "pids" / f"{worker}.json").exists()
    finally:
        serve.kill()
        serve.wait()
    try:
        assert _wait(lambda: not _alive(worker), 10), "the worker outlived the engine"
    finally:
        if worker and _alive(worker):
            os.kill(worker, signal.SIGKILL)
