"""`cirro serve` as a process: draining the intake, a clean stop, and recovery after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cirrostratus.engine.local import LocalEngine
from cirrostratus.state import SqliteStateStore

from .conftest import make_payload

CIRRO = [sys.executable, "-m", "cirrostratus"]


def serve(project: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CIRRO, "--project", str(project), "serve", "--workers", "64"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def completed(project: Path) -> int:
    db = project / ".cirro" / "state.db"
    if not db.exists():
        return 0
    store = SqliteStateStore(db)
    try:
        return int(store.counts().get("COMPLETED", 0))
    finally:
        store.close()


def submit(project: Path, payloads: list[dict]) -> None:
    engine = LocalEngine.open(project)
    engine.submit(payloads)
    engine.close()


def test_serve_drains_submitted_payloads_and_stops_cleanly(project: Path) -> None:
    submit(project, [make_payload("mirror", f"s{i}") for i in range(20)])
    proc = serve(project)
    try:
        wait_for(lambda: completed(project) == 20, 60, "20 COMPLETED")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped after" in err


def test_run_hands_payloads_to_a_serving_engine(project: Path) -> None:
    proc = serve(project)
    try:
        wait_for(lambda: LocalEngine.open(project).lock.holder() is not None, 30, "the lock")
        payload = project / "p.json"
        payload.write_text(json.dumps([make_payload("mirror", "x"), make_payload("invalid", "y")]))
        other = subprocess.run(
            [*CIRRO, "--project", str(project), "run", "--json", str(payload)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert f"engine pid {proc.pid} is running this project" in other.stderr
        assert "Traceback" not in other.stderr
        assert other.returncode == 1  # one of the two ends INVALID
        summary = json.loads(other.stdout.strip().splitlines()[-1])
        states = {r["payload_id"]: r["state"] for r in summary["payloads"]}
        assert states == {
            "test-collection/workflow-mirror/x": "COMPLETED",
            "test-collection/workflow-invalid/y": "INVALID",
        }
        again = subprocess.run(
            [*CIRRO, "--project", str(project), "run", "--json", str(payload)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        skipped = json.loads(again.stdout.strip().splitlines()[-1])["payloads"]
        assert all(r["skipped"] for r in skipped)  # already ended: not sent again
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


@pytest.mark.slow
def test_kill_9_while_in_flight_loses_nothing(project: Path) -> None:
    n = 2000
    submit(project, [make_payload("mirror", f"k{i:05d}") for i in range(n)])
    first = serve(project)
    try:
        wait_for(lambda: completed(project) >= 100, 120, "the first 100 COMPLETED")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=30)
    done_at_kill = completed(project)
    assert done_at_kill < n, "the engine finished before it could be killed"

    second = serve(project)
    try:
        wait_for(lambda: completed(project) == n, 300, f"all {n} COMPLETED after the restart")
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err

    store = SqliteStateStore(project / ".cirro" / "state.db")
    counts = store.counts()
    assert counts.get("COMPLETED") == n and sum(int(v) for v in counts.values()) == n
    payloads = project / ".cirro" / "payloads" / "test-collection" / "workflow-mirror"
    for i in range(n):
        out = json.loads((payloads / f"k{i:05d}" / "output.json").read_bytes())
        assert out["features"][0]["properties"]["mirrored"] == "provider"
    # every payload ended exactly once as COMPLETED in the event log
    ends: dict[str, int] = {}
    for event in store.events(limit=10 * n):
        if event.to_state is not None and str(event.to_state) == "COMPLETED":
            ends[event.payload_id] = ends.get(event.payload_id, 0) + 1
    assert len(ends) == n and set(ends.values()) == {1}
