"""Child processes die with the engine that started them.

Lambda workers and Batch jobs run as process-group leaders of their own (a job may start
processes of its own; killing the group gets them all). Two things make sure none outlives
a killed engine (`kill -9`, a crash, the OOM killer):

1. **A parent-death signal.** On Linux each child asks the kernel, between fork and exec,
   for SIGKILL when its parent dies (`prctl(PR_SET_PDEATHSIG)`), so the leader dies at once
   and its timeout no longer matters. (The kernel ties the signal to the thread that
   spawned the child: the engine spawns from its event-loop thread, which lives as long as
   the engine does.)
2. **A record under `.cirro/pids/`.** The processes a job started itself do not get that
   signal (it is not inherited across fork). Every child is recorded as
   `<pid>.json` — its pid, its start time, and the engine's pid and start time — and removed
   when it ends. A new engine (`reap()` runs when a pool or Batch runner is created, before
   recovery resumes anything) kills the whole group of every child whose engine is gone,
   so a resumed execution never runs beside the job a dead engine still runs.

A pid is only trusted by its start time (`/proc/<pid>/stat` field 22): a leader that is
alive with another start time is someone else's process now, and is left alone. While any
member of a group lives, Linux does not hand its id out again, so a group whose leader has
died is still ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

PIDS_DIR = "pids"
PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn`: the child gets SIGKILL when this process dies (Linux; else None).

    It runs in the child between fork and exec, so it only calls the already-resolved prctl
    and getppid: if the parent died before the request took effect, the child exits now.
    """
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(128 + int(signal.SIGKILL))

    return preexec


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 onwards), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].decode().split()


def start_time(pid: int) -> int | None:
    """When a process started (clock ticks since boot), or None if it does not exist."""
    fields = _stat(pid)
    if fields is None or fields[0] == "Z":  # a zombie has ended
        return None
    return int(fields[19])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
                members.append(int(entry))
    return members


class ChildRecords:
    """The pid files of one engine's children, under `<.cirro>/pids/` (None: keep none)."""

    def __init__(self, directory: Path | None) -> None:
        self.dir = directory
        self.owner = os.getpid()
        self.owner_start = start_time(self.owner)

    def add(self, pid: int, kind: str, argv: Sequence[str] = ()) -> None:
        """Record a child that leads its own process group."""
        if self.dir is None or not pid:
            return
        record = {
            "pid": pid,
            "start": start_time(pid),
            "owner": self.owner,
            "owner_start": self.owner_start,
            "kind": kind,
            "argv": list(argv)[:8],
        }
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / f"{pid}.json").write_bytes(orjson.dumps(record))
        except OSError:  # a full disk must not stop a task from running
            pass

    def remove(self, pid: int) -> None:
        if self.dir is not None and pid:
            with contextlib.suppress(OSError):
                (self.dir / f"{pid}.json").unlink()


def _alive(pid: int, started: int | None) -> bool:
    if started is not None:
        return start_time(pid) == started
    try:  # no /proc start time was known: trust the pid alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap(directory: Path | None, *, wait_s: float = 2.0) -> list[int]:
    """Kill the leftover children of engines that are gone; the pids killed.

    A record whose engine still runs (same pid, same start time) is left alone: that engine
    owns the child. Killed groups are waited for (up to `wait_s`), so nothing they run
    overlaps what the caller starts next.
    """
    if directory is None or not directory.is_dir():
        return []
    killed: list[int] = []
    for path in directory.glob("*.json"):
        try:
            record = orjson.loads(path.read_bytes())
            pid = int(record["pid"])
            owner = int(record["owner"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if _alive(owner, record.get("owner_start")):
            continue  # its engine runs: the child is that engine's business
        leader = start_time(pid)
        if leader is not None and leader != record.get("start"):
            members: list[int] = []  # the pid is someone else's now
        else:
            members = group_members(pid)
        if members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            killed.extend(members)
        with contextlib.suppress(OSError):
            path.unlink()
    deadline = time.monotonic() + wait_s
    while killed and time.monotonic() < deadline:
        if all(start_time(p) is None for p in killed):
            break
        time.sleep(0.02)
    return killed


__all__ = [
    "PIDS_DIR",
    "ChildRecords",
    "die_with_parent",
    "group_members",
    "reap",
    "start_time",
]
