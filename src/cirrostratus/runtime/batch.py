"""AWS Batch, locally: `submit_job` runs a job definition as fresh processes.

It takes what a Step Functions `arn:aws:states:::batch:submitJob.sync` Task passes
(JobDefinition, JobQueue, JobName, Parameters, ContainerOverrides) and returns what that
integration returns: the job description with PascalCase keys. A failed job raises
TaskFailed("States.TaskFailed", <that description as JSON>), which is what Cirrus's
post-batch reads: `Attempts[-1].Container.LogStreamName` names the log it parses.

How an attempt runs, in order of preference:
1. Cirrus's lambda-runner images (`run <function> <url>`): the named task's lambda code in a
   fresh Python process (`batch_lambda`), with the batch contract;
2. the owning task's `batch.local.command`, in the task's folder;
3. the job's image with docker or podman, when one answers `info`;
4. otherwise the attempt fails with a message that says how to give a local command.
Each attempt holds its vCPUs, memory and GPUs as slots on this machine (and vCPUs against its
queue's MaxvCpus), is killed after Timeout.AttemptDurationSeconds, and is retried up to
RetryStrategy.Attempts. Output goes to `<logs>/batch/<log stream name>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.project.local_batch import SpotInterruption, spot_interruption
from cirrostratus.runtime.children import PIDS_DIR, ChildRecords, die_with_parent, reap
from cirrostratus.runtime.containers import EngineProbe, container_command, probe_engine
from cirrostratus.runtime.env import LOCAL_ACCOUNT, StackContext, process_environment
from cirrostratus.runtime.errors import BATCH_FAILED, TaskFailed
from cirrostratus.runtime.jobs import (
    JobSpec,
    QueueSpec,
    fill_refs,
    project_jobs,
    project_queues,
    reference,
)
from cirrostratus.runtime.logs import batch_log_path
from cirrostratus.runtime.slots import Slots, gpu_count, machine_memory_mb
from cirrostratus.runtime.spec import LambdaSpec, project_specs, stack_of
from cirrostratus.storage.locations import Locations

log = logging.getLogger(__name__)

CLIENT_ERROR = "Batch.ClientException"
ESSENTIAL_EXITED = "Essential container in task exited"
"""AWS Batch's StatusReason for a job whose container ended (exit code 0 or not)."""


class _AttemptFailed(Exception):
    """An attempt that could not even start (no engine, no GPU, unknown function)."""


class BatchRunner:
    """Runs `submitJob.sync` parameters against a project's job definitions."""

    def __init__(
        self,
        project: Any = None,
        locations: Locations | None = None,
        *,
        jobs: Mapping[str, JobSpec] | None = None,
        queues: Mapping[str, QueueSpec] | None = None,
        lambdas: Callable[[str], LambdaSpec | None] | None = None,
        logs_dir: Path | None = None,
        stack: StackContext | None = None,
        mounts: tuple[Path, ...] = (),
        vcpus: float | None = None,
        memory_mb: float | None = None,
        gpus: int | None = None,
        engine_probe: EngineProbe = probe_engine,
        spot: SpotInterruption | None = None,
    ) -> None:
        """`BatchRunner(project, locations)` runs a project's jobs; tests and tools may pass
        `jobs=` (and `queues=`, `lambdas=`, `logs_dir=`) directly instead."""
        if project is not None:
            locations = locations or Locations.for_project(getattr(project, "root", None))
            stack = stack or stack_of(project)
            jobs = {**project_jobs(project, locations, stack), **(jobs or {})}
            queues = {**project_queues(project, stack), **(queues or {})}
            lambdas = lambdas or project_specs(project, locations)
            mounts = mounts or (locations.root,)
            if spot is None:
                spot = spot_interruption(getattr(project, "config", {}) or {})[0]
        if logs_dir is None:
            if locations is None:
                raise ValueError("BatchRunner needs a project and locations, or logs_dir")
            logs_dir = locations.logs_dir
        self.jobs = dict(jobs or {})
        self.queues = dict(queues or {})
        self.lambdas = lambdas
        self.logs_dir = Path(logs_dir)
        self.stack = stack or StackContext()
        self.mounts = mounts
        self.slots = Slots(
            vcpus or float(os.cpu_count() or 1),
            memory_mb or machine_memory_mb(),
            gpu_count() if gpus is None else gpus,
        )
        self._queue_slots: dict[str, Slots] = {}
        self._engine_probe = engine_probe
        self.spot = spot or SpotInterruption()
        self._spot_draws = random.Random(self.spot.seed)
        self.spot_interruptions = 0
        """How many attempts this runner has interrupted (for `spot_interruption_limit`)."""
        self._engine: str | None = None
        self._probed = False
        self._running: set[asyncio.subprocess.Process] = set()
        pids = self.logs_dir.parent / PIDS_DIR  # `.cirro/pids`, as the lambda pool's
        reap(pids)  # jobs a killed engine left running end before anything resumes
        self.children = ChildRecords(pids)

    @classmethod
    def for_project(cls, project: Any, locations: Locations, **kwargs: Any) -> BatchRunner:
        """Same as `BatchRunner(project, locations, **kwargs)`."""
        return cls(project, locations, **kwargs)

    @property
    def running_jobs(self) -> int:
        """Job containers (processes) running now: `cirro serve`'s status file."""
        return len(self._running)

    async def close(self) -> None:
        """Kill the jobs still running (their attempts end as killed)."""
        for proc in list(self._running):
            _kill_group(proc.pid)

    # -- lookups ------------------------------------------------------------------------
    def job(self, ref: Any) -> JobSpec:
        """A job definition by logical id, `#{LogicalId}`, name, `name:rev` or ARN."""
        key = reference(ref)
        if key in self.jobs:
            return self.jobs[key]
        bare = key.rsplit(":", 1)[0] if ":" in key and key.rsplit(":", 1)[1].isdigit() else key
        for job in self.jobs.values():
            if bare in (job.name, job.logical_id):
                return job
        known = ", ".join(sorted(self.jobs)) or "none"
        raise TaskFailed(
            CLIENT_ERROR,
            f"JobDefinition {ref!r} not found: no AWS::Batch::JobDefinition has that logical id "
            f"or JobDefinitionName (known: {known})",
        )

    def queue(self, ref: Any) -> QueueSpec:
        if ref is None:
            return QueueSpec("default", "default")
        key = reference(ref)
        for q in self.queues.values():
            if key in (q.logical_id, q.name):
                return q
        log.debug("job queue %r is not a project resource: no vCPU cap", ref)
        return QueueSpec(key, key)

    def _queue_slots_for(self, queue: QueueSpec) -> Slots | None:
        if queue.max_vcpus is None:
            return None
        slots = self._queue_slots.get(queue.logical_id)
        if slots is None:
            slots = self._queue_slots[queue.logical_id] = Slots(queue.max_vcpus)
        return slots

    def engine(self) -> str | None:
        if not self._probed:
            self._engine = self._engine_probe()
            self._probed = True
        return self._engine

    # -- submit -------------------------------------------------------------------------
    async def submit_job(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run the job to completion; return the SubmitJob.sync output or raise TaskFailed."""
        if not isinstance(params, Mapping) or "JobDefinition" not in params:
            raise TaskFailed(CLIENT_ERROR, "submitJob needs JobDefinition, JobName and JobQueue")
        job = self.job(params["JobDefinition"])
        queue = self.queue(params.get("JobQueue"))
        job_id = str(uuid.uuid4())
        job_name = str(params.get("JobName") or job.name)
        overrides = params.get("ContainerOverrides") or {}
        parameters = {
            **job.parameters,
            **{str(k): _text(v) for k, v in (params.get("Parameters") or {}).items()},
        }
        command = fill_refs(overrides.get("Command") or job.command, parameters)
        env = dict(job.environment)
        for item in overrides.get("Environment") or []:
            env[str(item["Name"])] = _text(item.get("Value", ""))
        vcpus, memory, gpus = job.vcpus, float(job.memory_mb), job.gpus
        for req in overrides.get("ResourceRequirements") or []:
            kind, value = str(req.get("Type", "")).upper(), req.get("Value")
            if kind == "VCPU":
                vcpus = float(value)
            elif kind == "MEMORY":
                memory = float(value)
            elif kind == "GPU":
                gpus = int(value)
        env.update(
            {
                "AWS_BATCH_JOB_ID": job_id,
                "AWS_BATCH_JQ_NAME": queue.name,
                "AWS_BATCH_CE_NAME": "local",
            }
        )
        region = self.stack.region
        created = _ms()
        description: dict[str, Any] = {
            "JobArn": f"arn:aws:batch:{region}:{LOCAL_ACCOUNT}:job/{job_id}",
            "JobName": job_name,
            "JobId": job_id,
            "JobQueue": f"arn:aws:batch:{region}:{LOCAL_ACCOUNT}:job-queue/{queue.name}",
            "JobDefinition": f"arn:aws:batch:{region}:{LOCAL_ACCOUNT}:job-definition/{job.name}:1",
            "Status": "RUNNABLE",
            "Parameters": parameters,
            "CreatedAt": created,
            "RetryStrategy": {"Attempts": job.attempts},
            "Attempts": [],
            "Container": {
                "Image": job.image,
                "Vcpus": vcpus,
                "Memory": int(memory),
                "Command": command,
                "Environment": [{"Name": k, "Value": v} for k, v in env.items()],
            },
        }
        if job.timeout_s:
            description["Timeout"] = {"AttemptDurationSeconds": job.timeout_s}
        if gpus > self.slots.gpus:
            where = (
                "none is visible" if not self.slots.gpus else f"only {self.slots.gpus} are visible"
            )
            self._fail_before_start(
                description,
                job,
                "GpuUnavailable",
                f"job definition {job.logical_id} asks for {gpus} GPU(s) but {where} on this "
                "machine (nvidia-smi -L / CUDA_VISIBLE_DEVICES); run it on a machine with a GPU "
                "or lower the GPU ResourceRequirement",
            )
        queue_slots = self._queue_slots_for(queue)
        for attempt in range(job.attempts):
            env["AWS_BATCH_JOB_ATTEMPT"] = str(attempt + 1)
            if queue.spot and self._interrupt():
                description["Attempts"].append(self._interrupted(job))
                continue
            qtaken = await queue_slots.acquire(vcpus) if queue_slots else None
            taken = await self.slots.acquire(vcpus, memory, gpus)
            try:
                record = await self._attempt(job, job_id, command, env, taken, parameters)
            finally:
                await self.slots.release(taken)
                if queue_slots and qtaken:
                    await queue_slots.release(qtaken)
            description["Attempts"].append(record)
            if record["Container"].get("ExitCode") == 0:
                break
        last = description["Attempts"][-1]
        description["StartedAt"] = description["Attempts"][0].get("StartedAt", created)
        description["StoppedAt"] = last.get("StoppedAt", _ms())
        description["Container"]["ExitCode"] = last["Container"].get("ExitCode")
        if last["Container"].get("Reason"):
            description["Container"]["Reason"] = last["Container"]["Reason"]
        description["Container"]["LogStreamName"] = last["Container"]["LogStreamName"]
        if last["Container"].get("ExitCode") == 0:
            description["Status"] = "SUCCEEDED"
            description["StatusReason"] = ESSENTIAL_EXITED
            return description
        description["Status"] = "FAILED"
        description["StatusReason"] = last.get("StatusReason") or ESSENTIAL_EXITED
        raise TaskFailed(BATCH_FAILED, orjson.dumps(description).decode())

    def _fail_before_start(
        self, description: dict[str, Any], job: JobSpec, kind: str, message: str
    ) -> None:
        stream = self._stream(job)
        path = batch_log_path(self.logs_dir, stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{kind}: {message}\n")
        now = _ms()
        description["Attempts"].append(
            {
                "Container": {"ExitCode": None, "LogStreamName": stream, "Reason": message},
                "StartedAt": now,
                "StoppedAt": now,
                "StatusReason": message,
            }
        )
        description.update(
            Status="FAILED",
            StatusReason=message,
            StartedAt=now,
            StoppedAt=now,
        )
        description["Container"].update(ExitCode=None, LogStreamName=stream, Reason=message)
        raise TaskFailed(BATCH_FAILED, orjson.dumps(description).decode())

    def _interrupt(self) -> bool:
        """Whether this attempt on a SPOT queue loses its host (see SpotInterruption)."""
        spot = self.spot
        if not spot.enabled or (spot.limit is not None and self.spot_interruptions >= spot.limit):
            return False
        if self._spot_draws.random() >= spot.rate:
            return False
        self.spot_interruptions += 1
        return True

    def _interrupted(self, job: JobSpec) -> dict[str, Any]:
        """An attempt whose spot instance was reclaimed as it started, as AWS reports it: no
        exit code, StatusReason `Host EC2 (instance i-…) terminated.` (also its log's last line)."""
        instance = "i-" + uuid.uuid4().hex[:17]
        reason = f"Host EC2 (instance {instance}) terminated."
        stream = self._stream(job)
        path = batch_log_path(self.logs_dir, stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"cirro: spot interruption (custom.cirro.batch.local)\n{reason}\n")
        log.info("job %s: spot interruption, %s", job.logical_id, reason)
        now = _ms()
        return {
            "Container": {"LogStreamName": stream},
            "StartedAt": now,
            "StoppedAt": now,
            "StatusReason": reason,
        }

    def _stream(self, job: JobSpec) -> str:
        return f"{job.name}/default/{uuid.uuid4().hex}"

    async def _attempt(
        self,
        job: JobSpec,
        job_id: str,
        command: list[str],
        env: dict[str, str],
        taken: tuple[float, float, int],
        parameters: dict[str, str],
    ) -> dict[str, Any]:
        stream = self._stream(job)
        path = batch_log_path(self.logs_dir, stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        started = _ms()
        record: dict[str, Any] = {"Container": {"LogStreamName": stream}, "StartedAt": started}
        workdir = Path(tempfile.mkdtemp(prefix="cirro-batch-"))
        try:
            try:
                argv, cwd = self._plan(job, job_id, command, env, taken, parameters, workdir)
            except _AttemptFailed as exc:
                kind, message = exc.args
                path.write_text(f"{kind}: {message}\n")
                record["Container"].update(ExitCode=None, Reason=message)
                record["StatusReason"] = message
                return record
            code, status, reason = await self._run(
                argv, cwd, process_environment(env), path, job.timeout_s
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        record["Container"]["ExitCode"] = code
        record["StoppedAt"] = _ms()
        record["StatusReason"] = status or ESSENTIAL_EXITED
        if reason or status:
            record["Container"]["Reason"] = reason or status
        return record

    def _plan(
        self,
        job: JobSpec,
        job_id: str,
        command: list[str],
        env: dict[str, str],
        taken: tuple[float, float, int],
        parameters: dict[str, str],
        workdir: Path,
    ) -> tuple[list[str], Path]:
        if job.runs_lambda and command[:1] == ["run"] and len(command) >= 3:
            function, url = command[1], command[2]
            spec = self.lambdas(function) if self.lambdas else None
            if spec is None:
                raise _AttemptFailed(
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
                raise _AttemptFailed(
                    "LocalCommandError", "batch.local.command needs the task's folder"
                )
            local = fill_refs(job.local_command, parameters)
            if local and local[0] in ("python", "python3"):
                local[0] = sys.executable  # the interpreter cirrostratus (and the project) runs in
            return local, job.directory
        engine = self.engine()
        if engine and job.image:
            argv = container_command(
                engine,
                job.image,
                command,
                env,
                name=f"cirro-{job_id}",
                vcpus=taken[0],
                memory_mb=taken[1],
                gpus=taken[2],
                mounts=self.mounts,
            )
            return argv, workdir
        owner = f"tasks/{job.task}/definition.yml" if job.task else "the task's definition.yml"
        raise _AttemptFailed(
            "ContainerEngineUnavailable",
            f"job definition {job.logical_id} runs image {job.image!r}, which needs a container "
            "engine, but neither docker nor podman answers `info` on this machine. Start one, or "
            f"give the task a local command in {owner}: `batch: {{local: {{command: [python, "
            "task.py, run, Ref::url]}}}}` (run in the task's folder, Ref::x filled from Parameters)",
        )

    async def _run(
        self, argv: list[str], cwd: Path, env: dict[str, str], log_path: Path, timeout: float | None
    ) -> tuple[int | None, str | None, str | None]:
        """Run one attempt: its exit code, the attempt's StatusReason when it is not AWS's
        usual `Essential container in task exited`, and the container's Reason (a signal)."""
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
            self._running.add(proc)
            self.children.add(proc.pid, "batch", argv)
            try:
                code = await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                _kill_group(proc.pid)
                await proc.wait()
                return _exit_code(proc.returncode), "Job attempt duration exceeded timeout", None
            except asyncio.CancelledError:
                _kill_group(proc.pid)
                raise
            finally:
                self._running.discard(proc)
                _kill_group(proc.pid)  # the container is gone: so is all it started
                self.children.remove(proc.pid)
        return _exit_code(code), None, killed_reason(code)


def _exit_code(code: int | None) -> int | None:
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


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _ms() -> int:
    return int(time.time() * 1000)
