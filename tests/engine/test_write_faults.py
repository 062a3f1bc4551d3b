"""A write that fails never hangs the engine: it is retried with backoff, then fails the
payload clearly; `run` returns, `serve` recovers by itself, SIGTERM always stops."""

from __future__ import annotations

import asyncio
import errno
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.engine import executor, local
from cirrostratus.engine.history import HistoryStore
from cirrostratus.engine.local import LocalEngine
from cirrostratus.engine.report import RunReport
from cirrostratus.state import Action, SqliteStateStore, State

from .conftest import make_payload


class Faulty:
    """A payload store whose writes of keys ending `suffix` fail while `failing()` says so."""

    def __init__(self, inner: Any, suffix: str, code: int, failing: Callable[[], bool]) -> None:
        self.inner, self.suffix, self.code, self.failing = inner, suffix, code, failing
        self.refused = 0

    def put_bytes(self, key: str, data: bytes) -> str:
        if key.endswith(self.suffix) and self.failing():
            self.refused += 1
            raise OSError(self.code, errno.errorcode[self.code] + ": " + "injected", key)
        return str(self.inner.put_bytes(key, data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def first(n: int) -> Callable[[], bool]:
    """True the first `n` times it is asked."""
    left = [n]

    def ask() -> bool:
        left[0] -= 1
        return left[0] >= 0

    return ask


def run(engine: LocalEngine, payloads: list[dict[str, Any]], timeout: float = 120) -> RunReport:
    return asyncio.run(asyncio.wait_for(engine.run(payloads), timeout))


def payloads(n: int, workflow: str = "mirror") -> list[dict[str, Any]]:
    return [make_payload(workflow, f"w{i:03d}") for i in range(n)]


def test_outputs_refused_for_a_while_are_retried_and_complete(project: Path) -> None:
    engine = LocalEngine.open(project)
    faulty = engine.payloads = Faulty(engine.payloads, "output.json", errno.ENOSPC, first(3))
    try:
        report = run(engine, payloads(5))
        assert report.counts() == {"COMPLETED": 5}, report.to_json()
        assert faulty.refused == 3
    finally:
        engine.close()


def test_outputs_never_stored_fail_their_payloads_clearly(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor, "WRITE_PATIENCE_S", 0.3)
    engine = LocalEngine.open(project)
    engine.payloads = Faulty(engine.payloads, "output.json", errno.EROFS, lambda: True)
    try:
        report = run(engine, payloads(4))
        assert report.counts() == {"FAILED": 4}, report.to_json()
        for rec in engine.store.get_many([r.payload_id for r in report.records.values()]).values():
            assert rec.state is State.FAILED
            assert rec.last_error.startswith("OutputNotStored: ")
            assert "Read-only file system" in rec.last_error or "EROFS" in rec.last_error
            assert rec.executions[-1].status == "FAILED"
            assert engine.history.get(rec.execution_id)["status"] == "FAILED"  # one truth
    finally:
        engine.close()


def test_the_flusher_survives_a_state_store_that_refuses_writes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = SqliteStateStore.apply
    errors = iter(
        [sqlite3.OperationalError("database or disk is full")] * 2
        + [sqlite3.OperationalError("database is locked")] * 2
    )

    def apply(self: SqliteStateStore, transitions: Any) -> Any:
        if any(t.action is Action.COMPLETE for t in transitions):
            error = next(errors, None)
            if error is not None:
                raise error
        return real(self, transitions)

    monkeypatch.setattr(SqliteStateStore, "apply", apply)
    engine = LocalEngine.open(project)
    try:
        report = run(engine, payloads(5))
        assert report.counts() == {"COMPLETED": 5}, report.to_json()
        assert next(errors, None) is None
    finally:
        engine.close()


def test_run_returns_when_the_state_store_never_takes_the_results(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor, "STATE_PATIENCE_S", 0.5)
    monkeypatch.setattr(local, "STATE_PATIENCE_S", 0.5)  # the drain loop's own patience
    real = SqliteStateStore.apply

    def apply(self: SqliteStateStore, transitions: Any) -> Any:
        if any(t.action is Action.COMPLETE for t in transitions):
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, transitions)

    monkeypatch.setattr(SqliteStateStore, "apply", apply)
    engine = LocalEngine.open(project)
    try:
        report = run(engine, payloads(3))
        assert not report.ok
        for rec in report.records.values():
            assert rec.state == "PROCESSING"  # left for the next engine to resume
            assert rec.error.startswith("NotSettled: ") and "disk is full" in rec.error
    finally:
        engine.close()


def test_serve_recovers_by_itself_when_space_comes_back(project: Path) -> None:
    engine = LocalEngine.open(project)
    full = [True]
    engine.payloads = Faulty(engine.payloads, "output.json", errno.ENOSPC, lambda: full[0])
    ids = [f"test-collection/workflow-mirror/w{i:03d}" for i in range(5)]
    engine.submit(payloads(5))
    done: list[bool] = []

    async def operator(_: LocalEngine, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while engine.payloads.refused < 3 and loop.time() < deadline:
            await asyncio.sleep(0.02)
        full[0] = False  # space is freed
        while loop.time() < deadline:
            found = engine.store.get_states(ids)
            if all(found.get(i) is State.COMPLETED for i in ids):
                done.append(True)
                break
            await asyncio.sleep(0.05)
        stop.set()

    try:
        asyncio.run(asyncio.wait_for(engine.serve(asyncio.Event(), services=[operator]), 120))
        assert done, engine.store.get_states(ids)
    finally:
        engine.close()


REFUSING_SERVE = """
import sqlite3, sys
from cirrostratus.state import Action, SqliteStateStore
real = SqliteStateStore.apply
def apply(self, transitions):
    if any(t.action is Action.COMPLETE for t in transitions):
        raise sqlite3.OperationalError("database or disk is full")
    return real(self, transitions)
SqliteStateStore.apply = apply
from cirrostratus.cli import main
sys.argv = ["cirro", "--project", sys.argv[1], "serve"]
main()
"""


def test_sigterm_stops_serve_while_results_cannot_be_recorded(
    project: Path, tmp_path: Path
) -> None:
    ids = [f"test-collection/workflow-mirror/w{i:03d}" for i in range(4)]
    engine = LocalEngine.open(project)
    engine.submit(payloads(4))
    engine.close()
    (tmp_path / "serve.py").write_text(REFUSING_SERVE)
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "serve.py"), str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        outputs = [project / ".cirro" / "payloads" / i / "output.json" for i in ids]
        deadline = time.monotonic() + 60
        while not all(p.exists() for p in outputs) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(p.exists() for p in outputs)  # finished, its results being refused
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err

    # the next engine resumes them: ABORTED with the reason, then run again to COMPLETED
    engine = LocalEngine.open(project)
    try:
        store = engine.store
        old = {i: store.get(i).execution_id for i in ids}
        assert all(store.get(i).state is State.PROCESSING for i in ids)
        run(engine, [])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = store.get_states(ids)
            if all(found.get(i) is State.COMPLETED for i in ids):
                break
            asyncio.run(asyncio.wait_for(_serve_briefly(engine), 30))
        for i in ids:
            rec = store.get(i)
            assert rec.state is State.COMPLETED
            aborted = [e for e in store.events(i) if e.to_state is State.ABORTED]
            assert aborted and aborted[0].error.startswith("EngineStopped: ")
            history = HistoryStore(project / ".cirro" / "history.db").get(old[i])
            assert history is None or history["status"] == "ABORTED"  # never SUCCEEDED
    finally:
        engine.close()


async def _serve_briefly(engine: LocalEngine) -> None:
    stop = asyncio.Event()

    async def later(_: LocalEngine, s: asyncio.Event) -> None:
        await asyncio.sleep(1.0)
        s.set()

    await engine.serve(stop, services=[later])


def test_a_damaged_state_database_stops_the_run_at_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting cannot mend a malformed file: the run stops (the CLI then names the file to
    move aside) instead of retrying for its whole patience as it does for a full disk."""
    monkeypatch.setattr(executor, "STATE_PATIENCE_S", 30.0)
    monkeypatch.setattr(local, "STATE_PATIENCE_S", 30.0)
    real = SqliteStateStore.apply

    def apply(self: SqliteStateStore, transitions: Any) -> Any:
        if any(t.action is Action.COMPLETE for t in transitions):
            raise sqlite3.DatabaseError("database disk image is malformed")
        return real(self, transitions)

    monkeypatch.setattr(SqliteStateStore, "apply", apply)
    engine = LocalEngine.open(project)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="malformed"):
            run(engine, payloads(3))
    finally:
        engine.close()
