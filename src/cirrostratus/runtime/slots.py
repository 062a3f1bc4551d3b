"""vCPUs, memory and GPUs held as slots, like a compute environment schedules containers.

A job waits until its whole request fits; a request bigger than the machine is clamped to
the machine (it then runs alone) rather than waiting forever.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Mapping


def machine_memory_mb() -> int:
    """Physical memory in MB (from /proc/meminfo; sysconf elsewhere)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 1048576
    except (ValueError, OSError, AttributeError):
        return 4096


def gpu_count(environ: Mapping[str, str] | None = None) -> int:
    """GPUs this process may use: CUDA_VISIBLE_DEVICES if set, else `nvidia-smi -L`."""
    env = os.environ if environ is None else environ
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v for v in visible.split(",") if v.strip() and v.strip() not in ("-1", "NoDevFiles")]
        return len(ids)
    smi = shutil.which("nvidia-smi")
    if not smi:
        return 0
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return 0
    return (
        sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))
        if out.returncode == 0
        else 0
    )


class Slots:
    """A counting pool of vCPUs, memory (MB) and GPUs."""

    def __init__(self, vcpus: float, memory_mb: float = float("inf"), gpus: int = 0) -> None:
        self.vcpus = vcpus
        self.memory_mb = memory_mb
        self.gpus = gpus
        self._used = [0.0, 0.0, 0]
        self._cond = asyncio.Condition()

    def clamp(self, vcpus: float, memory_mb: float, gpus: int) -> tuple[float, float, int]:
        return min(vcpus, self.vcpus), min(memory_mb, self.memory_mb), min(gpus, self.gpus)

    def _fits(self, vcpus: float, memory_mb: float, gpus: int) -> bool:
        u = self._used
        return (
            u[0] + vcpus <= self.vcpus + 1e-9
            and u[1] + memory_mb <= self.memory_mb
            and u[2] + gpus <= self.gpus
        )

    async def acquire(
        self, vcpus: float, memory_mb: float = 0, gpus: int = 0
    ) -> tuple[float, float, int]:
        """Wait until the (clamped) request fits, take it, and return what was taken."""
        want = self.clamp(vcpus, memory_mb, gpus)
        async with self._cond:
            await self._cond.wait_for(lambda: self._fits(*want))
            self._used[0] += want[0]
            self._used[1] += want[1]
            self._used[2] += want[2]
        return want

    async def release(self, taken: tuple[float, float, int]) -> None:
        async with self._cond:
            self._used[0] -= taken[0]
            self._used[1] -= taken[1]
            self._used[2] -= taken[2]
            self._cond.notify_all()

    @property
    def in_use(self) -> tuple[float, float, int]:
        return self._used[0], self._used[1], int(self._used[2])
