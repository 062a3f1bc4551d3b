"""How one Batch job attempt runs on this machine: which command, and as what process.

`plan` picks the command, in order of preference: Cirrus's lambda-runner images (`run
<function> <url>`) run the named lambda in a fresh Python process (`batch_lambda`); else the
owning task's `batch.local.command`, in the task's folder; else the job's image with docker
or podman; else the attempt fails saying how to give a local command. `run_attempt` runs it
in its own process group that dies with the engine, killed after its timeout, and reports
the exit code the way docker and AWS Batch do. The runner (batch.py) decides when and how
often; this module only runs what it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from cirrostratus.runtime.children import ChildRecords, die_with_parent
from cirrostratus.runtime.containers import container_command
from cirrostratus.runtime.jobs import JobSpec, fill_refs
from cirrostratus.runtime.spec import LambdaSpec


class AttemptFailed(Exception):
    """An attempt that could not even start (no engine, no GPU, unknown function)."""


def plan(
    job: JobSpec,
    job_id: str,
    command: list[str],
    env: dict[str, str],
    taken: tuple[float, float, int],
    parameters: dict[str, str],
    workdir: Path,
    *,
    lambdas: Callable[[str], LambdaSpec | None] | None,
    engine: Callable[[], str | None],
    mounts: tuple[Path, ...],
) -> tuple[list[str], Path]:
    """(argv, working directory) of an attempt holding `taken` (vCPUs, MiB, GPUs); raises
    AttemptFailed(kind, message) when nothing here can run it. `engine` is asked only when
    the job needs a container (probing docker costs a process)."""
    if job.runs_lambda and command[:1] == ["run"] and len(command) >= 3:
        function, url = command[1], command[2]
        spec = lambdas(function) if lambdas else None
        if spec is None:
            raise AttemptFailed(
                "FunctionNotFound",
                f"`run {function}`: no lambda-enabled task, function or feeder of the project "
                f"matches {function!r} (job definition {job.logical_id})",
            )
        env.setdefault("LAMBDA_TASK_ROOT", str(spec.directory))
        argv = [
            spec.python or sys.executable,  # the lambda's own environment (taskenv)
            "-m",
            "cirrostratus.runtime.batch_lambda",
            "--directory",
            str(spec.directory),
            "--handler",
            spec.handler,
            url,
        ]
        return argv, workdir
    if job.local_command:
        if job.directory is None:
            raise AttemptFailed("LocalCommandError", "batch.local.command needs the task's folder")
        local = fill_refs(job.local_command, parameters)
        if local and local[0] in ("python", "python3"):
            local[0] = sys.executable  # the interpreter cirrostratus (and the project) runs in
        return local, job.directory
    found = engine()
    if found and job.image:
        argv = container_command(
            found,
            job.image,
            command,
            env,
            name=f"cirro-{job_id}",
            vcpus=taken[0],
            memory_mb=taken[1],
            gpus=taken[2],
            mounts=mounts,
        )
        return argv, workdir
    owner = f"tasks/{job.task}/definition.yml" if job.task else "the task's definition.yml"
    raise AttemptFailed(
        "ContainerEngineUnavailable",
        f"job definition {job.logical_id} runs image {job.image!r}, which needs a container "
        "engine, but neither docker nor podman answers `info` on this machine. Start one, or "
        f"give the task a local command in {owner}: `batch: {{local: {{command: [python, "
        "task.py, run, Ref::url]}}}}` (run in the task's folder, Ref::x filled from Parameters)",
    )


async def run_attempt(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    timeout: float | None,
    *,
    running: set[asyncio.subprocess.Process],
    children: ChildRecords,
) -> tuple[int | None, str | None, str | None]:
    """Run one attempt: its exit code, the attempt's StatusReason when it is not AWS's
    usual `Essential container in task exited`, and the container's Reason (a signal).
    While it runs, its process is in `running` (for the runner's close) and `children`
    (so a restarted engine kills it)."""
    with open(log_path, "ab") as out:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own group: a kill takes its children too
                preexec_fn=die_with_parent(),  # and it dies with the engine
            )
        except OSError as exc:
            out.write(f"CannotStartContainerError: {exc}\n".encode())
            return None, f"CannotStartContainerError: {exc}", None
        running.add(proc)
        children.add(proc.pid, "batch", argv)
        try:
            code = await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            kill_group(proc.pid)
            await proc.wait()
            return exit_code(proc.returncode), "Job attempt duration exceeded timeout", None
        except asyncio.CancelledError:
            kill_group(proc.pid)
            raise
        finally:
            running.discard(proc)
            kill_group(proc.pid)  # the container is gone: so is all it started
            children.remove(proc.pid)
    return exit_code(code), None, killed_reason(code)


def exit_code(code: int | None) -> int | None:
    """A container's exit code: 128 + N for a process killed by signal N (137 for SIGKILL),
    as docker and AWS Batch report it, not Python's negative returncode."""
    if code is not None and code < 0:
        return 128 - code
    return code


def killed_reason(code: int | None) -> str | None:
    """`Container.Reason` of an attempt whose process a signal killed, naming the signal."""
    if code is None or code >= 0:
        return None
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f"Container killed by {name} (exit code {128 - code})"


def kill_group(pid: int) -> None:
    """SIGKILL the attempt's whole process group (gone already is fine)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
