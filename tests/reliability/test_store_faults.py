"""A full and a read-only payload store, and a locked state database, under a running engine.

The payload store (`.cirro/payloads`) is a small tmpfs the test fills or remounts read-only —
or, where the test may not mount one, the engine runs with a store that refuses writes while a
flag file exists. The fault lasts a couple of seconds while payloads arrive; once it is gone
the engine must finish every payload by itself (no restart), stop on one SIGTERM, and lose,
duplicate or leave behind nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

from .harness import (
    CIRRO,
    Figures,
    Project,
    check,
    ids_of,
    payload,
    show,
    start_engine,
    submit,
    wait_for,
    wait_idle,
)

Record = Callable[[str, object], None]
HERE = Path(__file__).parent
FAULT_S = 2.0


@cache
def can_mount() -> bool:
    """Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, `mount` present)."""
    if os.environ.get("RELIABILITY_NO_TMPFS") or shutil.which("mount") is None:
        return False  # RELIABILITY_NO_TMPFS=1: try the fault-injecting store here too
    probe = Path(f"/tmp/cirro-reliability-probe-{id(can_mount)}")
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True
        )
        if done.returncode != 0:
            return False
        subprocess.run(["umount", str(probe)], capture_output=True)
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


class StoreFault:
    """Breaks and heals the project's payload store: a tmpfs, else a flag file."""

    def __init__(self, project: Project, kind: str) -> None:
        self.kind = kind  # "full" or "read-only"
        self.dir = Path(project.locations.ensure().payload_url.removeprefix("file://"))
        self.tmpfs = can_mount()
        self.flag = project.root.parent / "store-fault"
        self.filler = self.dir / "filler"
        if self.tmpfs:
            self.dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(self.dir)], check=True
            )

    @property
    def how(self) -> str:
        return "tmpfs" if self.tmpfs else "fault-injecting store"

    def engine_command(self, project: Project, *args: str) -> list[str] | None:
        if self.tmpfs:
            return None if not args else [*CIRRO, "--project", str(project.root), *args]
        return [
            sys.executable,
            str(HERE / "faulty_engine.py"),
            "--project",
            str(project.root),
            *args,
        ]

    def env(self) -> dict[str, str]:
        return {} if self.tmpfs else {"RELIABILITY_STORE_FAULT": str(self.flag)}

    def break_(self) -> None:
        if not self.tmpfs:
            self.flag.write_text("ENOSPC" if self.kind == "full" else "EROFS")
        elif self.kind == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(self.dir)], check=True)
        else:
            with open(self.filler, "wb") as fh:
                chunk = b"\0" * 65536
                with contextlib.suppress(OSError):
                    while True:
                        fh.write(chunk)
                        fh.flush()
            with contextlib.suppress(OSError):  # the last few bytes too
                (self.dir / "filler2").write_bytes(b"\0" * 4096)

    def heal(self) -> None:
        if not self.tmpfs:
            self.flag.unlink(missing_ok=True)
        elif self.kind == "read-only":
            subprocess.run(["mount", "-o", "remount,rw", str(self.dir)], check=True)
        else:
            self.filler.unlink(missing_ok=True)
            (self.dir / "filler2").unlink(missing_ok=True)

    def close(self) -> None:
        if self.tmpfs:
            subprocess.run(["umount", "-l", str(self.dir)], capture_output=True)


@contextlib.contextmanager
def store_fault(project: Project, kind: str) -> Iterator[StoreFault]:
    fault = StoreFault(project, kind)
    try:
        yield fault
    finally:
        fault.close()


def docs(n: int, tag: str) -> list[dict[str, object]]:
    return [payload("first", f"{tag}{i:04d}", chain=True) for i in range(n)]


def assert_clear(figures: Figures, project: Project) -> None:
    """Clean, and a payload that did not complete says its write failed."""
    from cirrostratus.state import SqliteStateStore

    assert figures.clean, figures.line()
    assert set(figures.states) <= {"COMPLETED", "FAILED"}, figures.line()
    with SqliteStateStore(project.locations.state_db) as store:
        for rec in store.iter_query(state="FAILED"):
            assert rec.last_error and "unknown" not in rec.last_error, rec.last_error


@pytest.mark.parametrize("kind", ["full", "read-only"])
def test_serve_recovers_by_itself_when_the_payload_store_comes_back(
    project: Project, kind: str, record_property: Record
) -> None:
    with store_fault(project, kind) as fault:
        engine = start_engine(
            project, env=fault.env(), command=fault.engine_command(project, "serve")
        )
        try:
            engine.wait_ready()
            fault.break_()
            ids = submit(project, docs(20, "s"))
            time.sleep(FAULT_S)
            fault.heal()
            wait_idle(project, ids, timeout=60)
        finally:
            stopped = engine.stop(timeout=30)
        figures = check(
            project,
            ids,
            scenario=f"{kind} payload store ({fault.how}), serve",
            not_stopped=not stopped,
        )
    show(figures, record_property)
    assert_clear(figures, project)


def processing(project: Project) -> bool:
    from cirrostratus.state import SqliteStateStore

    if not project.locations.state_db.exists():
        return False
    with SqliteStateStore(project.locations.state_db) as store:
        return int(store.counts().get("PROCESSING", 0) or 0) > 0


def test_run_returns_when_the_payload_store_fills_up_mid_run(
    project: Project, record_property: Record
) -> None:
    batch = [
        payload("first", f"r{i:04d}", chain=True, tasks={"mark": {"sleep": 1.0}}) for i in range(20)
    ]
    (project.root / "payloads.jsonl").write_text("\n".join(json.dumps(d) for d in batch))
    ids = ids_of(batch)
    with store_fault(project, "full") as fault:
        command = fault.engine_command(project, "run", "-q", "--json", "payloads.jsonl") or []
        run = start_engine(project, env=fault.env(), command=command, name="run")
        # the inputs are stored and the tasks are running: their outputs meet a full disk
        assert wait_for(lambda: processing(project), 60), run.stderr()
        fault.break_()
        time.sleep(FAULT_S)
        fault.heal()
        try:
            run.proc.wait(timeout=120)
            returned = True
        except subprocess.TimeoutExpired:
            returned = False
            run.kill()
        scenario = f"full payload store ({fault.how}), run"
        figures = check(project, ids, scenario=scenario, not_stopped=0 if returned else 1)
    show(figures, record_property)
    assert returned, f"cirro run never returned: {run.stderr()[-2000:]}"
    assert_clear(figures, project)


def hold_state_lock(project: Project, seconds: float) -> None:
    """Another process's write lock on state.db (BEGIN EXCLUSIVE), held for `seconds`."""
    conn = sqlite3.connect(project.locations.state_db, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


def locked_database(project: Project, seconds: float) -> Figures:
    engine = start_engine(project)
    try:
        engine.wait_ready()
        ids = submit(project, docs(20, "l"))
        time.sleep(0.2)  # some are running when the lock is taken
        hold_state_lock(project, seconds)
        wait_idle(project, ids, timeout=60 + seconds)
    finally:
        stopped = engine.stop(timeout=60)
    return check(
        project, ids, scenario=f"state.db locked for {seconds:g}s", not_stopped=not stopped
    )


def test_a_locked_state_database_delays_but_loses_nothing(
    project: Project, record_property: Record
) -> None:
    figures = locked_database(project, 3)
    show(figures, record_property)
    assert figures.clean, figures.line()
    assert figures.states == {"COMPLETED": 40}, figures.line()


@pytest.mark.soak
def test_soak_state_database_locked_past_the_busy_timeout(
    project: Project, record_property: Record
) -> None:
    figures = locked_database(project, 40)  # the busy timeout is 30 s
    show(figures, record_property)
    assert figures.clean, figures.line()
