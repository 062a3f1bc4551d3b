"""`/metrics` with and without a serving engine's status file (engine/status.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cirrostratus.engine.status import STATUS_FILE, read_status, snapshot, write_status


def values(text: str) -> dict[str, str]:
    return dict(line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#")


def status_path(backend: Any) -> Path:
    return Path(backend.locations.root) / STATUS_FILE


def test_metrics_report_the_serving_engines_numbers(writable: tuple[Any, Any, Path]) -> None:
    client, backend, _ = writable
    without = values(client.get("/metrics").text)
    assert without["cirro_engine_serving"] == "0"
    assert "cirro_lambda_workers_busy" not in without
    status = {"pid": os.getpid(), "time": time.time(), "executions_running": 7}
    status |= {"lambda_workers_busy": 3, "lambda_workers": 5, "batch_jobs_running": 2}
    write_status(status_path(backend), status)
    try:
        found = values(client.get("/metrics").text)
    finally:
        status_path(backend).unlink()
    assert found["cirro_engine_serving"] == "1"
    assert found["cirro_executions_running"] == "7"
    assert found["cirro_lambda_workers_busy"] == "3"
    assert found["cirro_lambda_workers"] == "5"
    assert found["cirro_batch_jobs_running"] == "2"


def test_a_stale_or_orphaned_status_is_ignored(tmp_path: Path) -> None:
    now = time.time()
    write_status(tmp_path / STATUS_FILE, {"pid": os.getpid(), "time": now - 60})
    assert read_status(tmp_path, now=now) is None  # not refreshed for a minute
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    write_status(tmp_path / STATUS_FILE, {"pid": int(dead.stdout), "time": now})
    assert read_status(tmp_path, now=now) is None  # its writer is gone
    (tmp_path / STATUS_FILE).write_text("{half")
    assert read_status(tmp_path) is None
    write_status(tmp_path / STATUS_FILE, {"pid": os.getpid(), "time": now})
    assert read_status(tmp_path, now=now) == {"pid": os.getpid(), "time": now}


def test_snapshot_counts_the_sessions_workers_and_jobs() -> None:
    worker = SimpleNamespace
    pool = SimpleNamespace(
        live=[
            worker(alive=True, inflight=[1]),
            worker(alive=True, inflight=[]),
            worker(alive=False, inflight=[1]),  # killed, not yet reaped
        ]
    )
    from cirrostratus.runtime.pool import LambdaPool

    pool.busy = lambda: LambdaPool.busy(pool)  # type: ignore[arg-type]
    session = SimpleNamespace(
        runner=SimpleNamespace(inflight={"a": 1, "b": 2}),
        pool=pool,
        batch=SimpleNamespace(running_jobs=4),
    )
    found = snapshot(SimpleNamespace(live_session=session))
    assert (found["executions_running"], found["batch_jobs_running"]) == (2, 4)
    assert (found["lambda_workers_busy"], found["lambda_workers"]) == (1, 2)
    assert snapshot(SimpleNamespace(live_session=None))["lambda_workers"] == 0
    json.dumps(found)  # what the file holds
