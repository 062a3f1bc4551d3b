"""The reliability harness: a project per test, the engine as a process, and the one checker.

Every scenario ends the same way: an engine drains what is left, stops, and `check` reads the
state database, the intake, the payload store, the notifications folder and /proc, and counts

- lost: a submitted or chained payload with no record, or a COMPLETED/FAILED payload whose
  notification (`published` per output item, `failed`) never came;
- doubly_terminal: a payload COMPLETED twice, or one execution ending twice;
- stuck: a record still CLAIMED/PROCESSING, or an intake message not settled, once idle;
- missing_outputs: a COMPLETED payload without its `output.json`;
- orphans: a worker or job of the test's project left running without its engine.

All five must be 0. Workers and jobs are told apart from every other process on the machine by
a per-test token in their environment (`RELIABILITY_MARK`, set through cirrus.yml).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cirrostratus.engine.local import LocalEngine
from cirrostratus.engine.notify import FAILED, PUBLISHED, JsonLinesNotifier
from cirrostratus.engine.update import output_key
from cirrostratus.intake import SqliteIntakeQueue
from cirrostratus.payload import Payload, PayloadError
from cirrostratus.state import SqliteStateStore
from cirrostratus.storage import open_store
from cirrostratus.storage.locations import Locations

FIXTURE = Path(__file__).parent / "fixtures" / "project"
CIRRO = [sys.executable, "-m", "cirrostratus"]
BUSY = ("CLAIMED", "PROCESSING")
TERMINAL = ("COMPLETED", "FAILED", "INVALID", "ABORTED")


@dataclass
class Project:
    """A fresh copy of the fixture project, marked with a token of its own."""

    root: Path
    mark: str

    @property
    def locations(self) -> Locations:
        return Locations.for_project(self.root)


def make_project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    mark = uuid.uuid4().hex
    yml = root / "cirrus.yml"
    yml.write_text(yml.read_text().replace("RELIABILITY_MARK: unset", f"RELIABILITY_MARK: {mark}"))
    return Project(root, mark)


def payload(
    workflow: str,
    item: str,
    *,
    chain: bool = False,
    tasks: dict[str, Any] | None = None,
    collection: str = "rel",
) -> dict[str, Any]:
    """A one-item payload; with `chain`, its output goes on to the `second` workflow."""
    block: dict[str, Any] = {"workflow": workflow, "tasks": tasks or {}}
    process: Any = block
    if chain:
        process = [block, {"workflow": "second", "collections": "chained", "tasks": tasks or {}}]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item,
                "collection": collection,
                "geometry": None,
                "properties": {"datetime": "2024-07-04T00:00:00Z"},
                "assets": {},
                "links": [],
            }
        ],
        "process": process,
    }


def ids_of(payloads: Iterable[dict[str, Any]]) -> list[str]:
    return [Payload.from_dict(p).id for p in payloads]


def submit(project: Project, payloads: Sequence[dict[str, Any]]) -> list[str]:
    """Send payloads to the project's intake (as `cirro submit` does); return their ids."""
    engine = LocalEngine.open(project.root)
    try:
        engine.submit(payloads)
    finally:
        engine.close()
    return ids_of(payloads)


# --- the engine as a process ---------------------------------------------------------------


@dataclass
class EngineProcess:
    """`cirro serve` (or another command) running in the background, its stderr in a file."""

    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        """Until serve says it is draining (it has recovered what a dead engine left)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "cirro serve: project" in self.stderr():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"the engine exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.05)
        raise AssertionError(f"the engine was not ready after {timeout}s: {self.stderr()}")

    def kill(self) -> None:
        """kill -9, and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 60) -> bool:
        """SIGTERM; True when the engine stopped by itself within `timeout` (else it is killed)."""
        if self.proc.poll() is not None:
            return True
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            self.kill()
            return False


def start_engine(
    project: Project,
    *,
    env: dict[str, str] | None = None,
    concurrency: int | None = None,
    command: Sequence[str] | None = None,
    name: str = "serve",
) -> EngineProcess:
    log = project.root.parent / f"{name}-{uuid.uuid4().hex[:8]}.log"
    argv = list(command or [*CIRRO, "--project", str(project.root), "serve"])
    if command is None and concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    full_env = {k: v for k, v in os.environ.items() if k != "CIRRO_CRASH_AT"}
    full_env.update(env or {})
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=err, env=full_env, cwd=project.root
        )
    return EngineProcess(proc, log)


def wait_for(check: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def idle(project: Project, expected: Iterable[str]) -> bool:
    """Every expected payload has a record, none is busy and the intake has nothing pending."""
    locations = project.locations
    if not locations.state_db.exists():
        return False
    store = SqliteStateStore(locations.state_db)
    queue = SqliteIntakeQueue(locations.intake_db)
    try:
        counts = store.counts()
        if any(int(counts.get(s, 0) or 0) for s in BUSY):
            return False
        pending = queue.counts()
        if pending.visible or pending.in_flight or pending.delayed:
            return False
        wanted = list(expected)
        return len(store.get_many(wanted)) == len(set(wanted))
    finally:
        store.close()
        queue.close()


def wait_idle(project: Project, expected: Iterable[str], timeout: float = 90) -> bool:
    """Until idle twice in a row 0.3 s apart (a chained payload may be on its way)."""
    wanted = list(expected)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if idle(project, wanted):
            time.sleep(0.3)
            if idle(project, wanted):
                return True
        time.sleep(0.1)
    return False


# --- processes -----------------------------------------------------------------------------


def marked(mark: str) -> list[int]:
    """Live processes (not zombies) whose environment carries this test's token."""
    token = f"RELIABILITY_MARK={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if token in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def descends_from(pid: int, ancestor: int) -> bool:
    seen = 0
    current: int | None = pid
    while current and current > 1 and seen < 64:
        if current == ancestor:
            return True
        current = _parent(current)
        seen += 1
    return False


def strays(mark: str, engine_pid: int | None = None) -> list[int]:
    """This test's workers/jobs that do not belong to the running engine (all if none runs)."""
    return [p for p in marked(mark) if engine_pid is None or not descends_from(p, engine_pid)]


def wait_strays(mark: str, engine_pid: int | None = None, timeout: float = 5) -> list[int]:
    """The strays still alive after up to `timeout` seconds (they may be dying)."""
    wait_for(lambda: not strays(mark, engine_pid), timeout, 0.2)
    return strays(mark, engine_pid)


def kill_marked(mark: str) -> None:
    """Cleanup: end what this test's engines left behind, so no test leaks a process."""
    for pid in marked(mark):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --- the checker ---------------------------------------------------------------------------


@dataclass
class Figures:
    """The five counts of a scenario (all must be 0), and the ids behind them."""

    scenario: str
    payloads: int = 0
    rounds: int = 0
    lost: int = 0
    doubly_terminal: int = 0
    stuck: int = 0
    missing_outputs: int = 0
    orphans: int = 0
    resumed: int = 0  # executions a kill interrupted (ended ABORTED or EngineStopped)
    states: dict[str, int] = field(default_factory=dict)
    details: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, what: str) -> None:
        self.details.setdefault(kind, []).append(what)

    @property
    def clean(self) -> bool:
        return not (
            self.lost or self.doubly_terminal or self.stuck or self.missing_outputs or self.orphans
        )

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = {k: v[:5] for k, v in self.details.items()}
        return data

    def line(self) -> str:
        return json.dumps(self.summary(), sort_keys=False)


def check(
    project: Project,
    submitted: Iterable[str],
    *,
    scenario: str,
    rounds: int = 0,
    orphans: Iterable[int] = (),
    not_stopped: int = 0,
) -> Figures:
    """Count lost, doubly terminal, stuck, missing outputs and orphans (see the module doc).

    Call it with no engine running. `orphans` are strays observed earlier (while a later
    engine ran); those still alive now are added. `not_stopped` counts engines that ignored
    SIGTERM (a stop that never comes is stuck too).
    """
    figures = Figures(scenario, rounds=rounds)
    locations = project.locations
    store = SqliteStateStore(locations.state_db)
    queue = SqliteIntakeQueue(locations.intake_db)
    objects = open_store(locations.payload_url)
    notes = JsonLinesNotifier(locations.notifications_dir)
    try:
        records = {r.payload_id: r for r in store.iter_query()}
        events = store.events(limit=10**9)
        pending = queue.counts()
        published = Counter(
            (n["attributes"].get("payload_id"), n["message"].get("id"))
            for n in notes.read(PUBLISHED)
        )
        failed = Counter(n["message"].get("payload_id") for n in notes.read(FAILED))
    finally:
        store.close()
        queue.close()
        notes.close()
    figures.payloads = len(records)
    figures.states = dict(Counter(str(r.state) for r in records.values()))

    missing = [pid for pid in dict.fromkeys(submitted) if pid not in records]
    for pid, rec in records.items():
        state = str(rec.state)
        if state in BUSY:
            figures.stuck += 1
            figures.note("stuck", f"{pid} {state}")
        elif state == "FAILED" and not failed[pid]:
            figures.lost += 1
            figures.note("lost", f"{pid}: no `failed` notification")
        if state != "COMPLETED":
            continue
        try:
            output = objects.get_json(output_key(pid))
        except Exception:
            figures.missing_outputs += 1
            figures.note("missing_outputs", pid)
            continue
        for item in output.get("features") or []:
            if not published[(pid, item.get("id"))]:
                figures.lost += 1
                figures.note("lost", f"{pid}: no `published` notification for {item.get('id')}")
        try:
            nexts = Payload.from_dict(output).next_payloads()
        except PayloadError:
            nexts = []
        missing += [str(n["id"]) for n in nexts if str(n["id"]) not in records]
    # a payload with no record whose message still waits in the intake is stuck, not lost
    waiting = _waiting(locations, missing)
    for pid in dict.fromkeys(missing):
        if pid not in waiting:
            figures.lost += 1
            figures.note("lost", f"{pid}: no record, no message")
    unsettled = pending.visible + pending.in_flight + pending.delayed
    if unsettled:
        figures.stuck += unsettled
        figures.note("stuck", f"{unsettled} intake message(s) never settled")
    if not_stopped:
        figures.stuck += not_stopped
        figures.note("stuck", f"{not_stopped} engine(s) ignored SIGTERM")

    completions: Counter[str] = Counter()
    ends: Counter[tuple[str, str]] = Counter()
    for event in events:
        to = str(event.to_state) if event.to_state is not None else None
        if to == "COMPLETED":
            completions[event.payload_id] += 1
        if to in TERMINAL and event.execution_id:
            ends[(event.payload_id, event.execution_id)] += 1
        if to == "ABORTED" or (to == "FAILED" and "EngineStopped" in (event.error or "")):
            figures.resumed += 1
    for pid, n in completions.items():
        if n > 1:
            figures.doubly_terminal += 1
            figures.note("doubly_terminal", f"{pid} COMPLETED {n} times")
    for (pid, ex), n in ends.items():
        if n > 1 and completions[pid] <= 1:
            figures.doubly_terminal += 1
            figures.note("doubly_terminal", f"{pid} execution {ex} ended {n} times")

    left = set(orphans) | set(strays(project.mark))
    figures.orphans = len(left)
    for pid in sorted(left):
        figures.note("orphans", f"pid {pid}: {_cmdline(pid)}")
    return figures


def _waiting(locations: Locations, payload_ids: list[str]) -> set[str]:
    """Which of these payloads have a message waiting in the intake (when it can tell)."""
    if not payload_ids:
        return set()
    queue = SqliteIntakeQueue(locations.intake_db)
    try:
        find = getattr(queue, "waiting", None)
        return set(find(payload_ids)) if find is not None else set()
    finally:
        queue.close()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "(gone)"


def show(figures: Figures, record: Callable[[str, object], None] | None = None) -> None:
    """Print the figures (one JSON line) and attach them to the test report."""
    print(f"reliability {figures.line()}", flush=True)
    if record is not None:
        record("reliability", figures.summary())
