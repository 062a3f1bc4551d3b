"""How much CPU the pool's workers are using, so a pool does not start a worker that would
only share cores already in full use.

Lambda gives every execution environment CPUs of its own; here workers share this machine's
cores. For a task that waits on the network, more workers than cores still help, so the
pool's cap is twice the cores. For a task that computes (a COG conversion), a worker started
while the others already use every core adds no throughput and costs a cold start plus the
switching between them: 24 conversions on 2 cores ran 12% slower with four workers than with
two (docs/runtime.md). Only our workers are counted, so the decision does not depend on what
else runs on the machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far, from /proc; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # fields after the command name, which may itself hold spaces and parentheses
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (IndexError, ValueError):
        return None


class CpuUse:
    """The CPUs a set of processes used between two calls of `cores_in_use`."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[float, float]] = {}  # pid -> (when, cpu seconds)

    def cores_in_use(self, pids: Iterable[tuple[int, float]]) -> float:
        """Cores busy with these processes since the last call; `pids` pairs each pid with
        when it started (a process seen for the first time is measured over its life)."""
        now = time.monotonic()
        seen: dict[int, tuple[float, float]] = {}
        total = 0.0
        for pid, started in pids:
            used = cpu_seconds(pid)
            if used is None:
                continue
            when, before = self._last.get(pid, (started, 0.0))
            if now > when:
                total += max(0.0, used - before) / (now - when)
            seen[pid] = (now, used)
        self._last = seen
        return total
