"""Container engines: is docker or podman reachable, and how a job runs in one."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

EngineProbe = Callable[[], str | None]


def probe_engine() -> str | None:
    """The first of docker, podman whose `info` succeeds (a daemon answers), else None."""
    for name in ("docker", "podman"):
        exe = shutil.which(name)
        if not exe:
            continue
        try:
            done = subprocess.run([exe, "info"], capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return exe
    return None


def container_command(
    engine: str,
    image: str,
    command: Sequence[str],
    environment: Mapping[str, str],
    *,
    name: str,
    vcpus: float,
    memory_mb: float,
    gpus: int,
    mounts: Sequence[Path] = (),
) -> list[str]:
    """`docker run` for one attempt: env, cpu/memory limits, the local stores mounted in place."""
    argv = [engine, "run", "--rm", "--name", name, "--cpus", f"{vcpus:g}"]
    if memory_mb:
        argv += ["--memory", f"{int(memory_mb)}m"]
    if gpus:
        argv += ["--gpus", str(gpus)]
    for path in mounts:
        argv += ["-v", f"{path}:{path}"]
    for key, value in environment.items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, image, *command]
