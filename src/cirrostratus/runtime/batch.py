"""AWS Batch, locally: `submit_job` runs a job definition as fresh processes.

It takes what a Step Functions `arn:aws:states:::batch:submitJob.sync` Task passes
(JobDefinition, JobQueue, JobName, Parameters, ContainerOverrides) and returns what that
integration returns: the job description with PascalCase keys. A failed job raises
TaskFailed("States.TaskFailed", <that description as JSON>), which is what Cirrus's
post-batch reads: `Attempts[-1].Container.LogStreamName` names the log it parses.

This module schedules: each attempt holds its vCPUs, memory and GPUs as slots on this
machine (and vCPUs against its queue's MaxvCpus), may lose its host on a SPOT queue, and is
retried up to RetryStrategy.Attempts. How an attempt runs (a lambda-runner command, the task's
`batch.local.command`, a container, or a failure saying how to give a local command; killed
after Timeout.AttemptDurationSeconds) is batch_attempt.py; the description's shape is
batch_description.py. Output goes to `<logs>/batch/<log stream name>`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from cirrostratus.project.local_batch import SpotInterruption, spot_interruption
from cirrostratus.runtime.batch_attempt import AttemptFailed, kill_group, plan, run_attempt
from cirrostratus.runtime.batch_description import (
    CLIENT_ERROR,
    ESSENTIAL_EXITED,
    Submission,
    fail_before_start,
    finish,
    now_ms,
    submission,
)
from cirrostratus.runtime.children import PIDS_DIR, ChildRecords, reap
from cirrostratus.runtime.containers import EngineProbe, probe_engine
from cirrostratus.runtime.env import StackContext, process_environment
from cirrostratus.runtime.errors import TaskFailed
from cirrostratus.runtime.jobs import JobSpec, QueueSpec, project_jobs, project_queues, reference
from cirrostratus.runtime.logs import batch_log_path
from cirrostratus.runtime.slots import Slots, gpu_count, machine_memory_mb
from cirrostratus.runtime.spec import LambdaSpec, project_specs, stack_of
from cirrostratus.storage.locations import Locations

log = logging.getLogger(__name__)


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
            kill_group(proc.pid)

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
        sub = submission(job, queue, params, self.stack.region)
        description, env, gpus = sub.description, sub.env, sub.gpus
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
            qtaken = await queue_slots.acquire(sub.vcpus) if queue_slots else None
            taken = await self.slots.acquire(sub.vcpus, sub.memory, gpus)
            try:
                record = await self._attempt(job, sub, taken)
            finally:
                await self.slots.release(taken)
                if queue_slots and qtaken:
                    await queue_slots.release(qtaken)
            description["Attempts"].append(record)
            if record["Container"].get("ExitCode") == 0:
                break
        return finish(description)

    def _fail_before_start(
        self, description: dict[str, Any], job: JobSpec, kind: str, message: str
    ) -> NoReturn:
        stream = self._stream(job)
        path = batch_log_path(self.logs_dir, stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{kind}: {message}\n")
        fail_before_start(description, stream, message)

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
        now = now_ms()
        return {
            "Container": {"LogStreamName": stream},
            "StartedAt": now,
            "StoppedAt": now,
            "StatusReason": reason,
        }

    def _stream(self, job: JobSpec) -> str:
        return f"{job.name}/default/{uuid.uuid4().hex}"

    async def _attempt(
        self, job: JobSpec, sub: Submission, taken: tuple[float, float, int]
    ) -> dict[str, Any]:
        """One attempt of `sub` holding `taken`: its Attempts entry (a log stream of its own)."""
        stream = self._stream(job)
        path = batch_log_path(self.logs_dir, stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        started = now_ms()
        record: dict[str, Any] = {"Container": {"LogStreamName": stream}, "StartedAt": started}
        workdir = Path(tempfile.mkdtemp(prefix="cirro-batch-"))
        try:
            try:
                argv, cwd = plan(
                    job,
                    sub.job_id,
                    sub.command,
                    sub.env,
                    taken,
                    sub.parameters,
                    workdir,
                    lambdas=self.lambdas,
                    engine=self.engine,
                    mounts=self.mounts,
                )
            except AttemptFailed as exc:
                kind, message = exc.args
                path.write_text(f"{kind}: {message}\n")
                record["Container"].update(ExitCode=None, Reason=message)
                record["StatusReason"] = message
                return record
            code, status, reason = await run_attempt(
                argv,
                cwd,
                process_environment(sub.env, sub.vcpus),
                path,
                job.timeout_s,
                running=self._running,
                children=self.children,
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        record["Container"]["ExitCode"] = code
        record["StoppedAt"] = now_ms()
        record["StatusReason"] = status or ESSENTIAL_EXITED
        if reason or status:
            record["Container"]["Reason"] = reason or status
        return record
