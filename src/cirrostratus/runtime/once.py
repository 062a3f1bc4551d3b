"""Run one task once, on one payload: what `cirro task run` does, kept out of the CLI.

A Lambda task runs in a one-worker pool (so it sees exactly the environment and limits it
would in a workflow); `batch=True` runs it through the batch contract instead: the payload
is stored, the job runs as a fresh process with `url`, and `<url>_out.json` is read back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.payload import Payload, PayloadError
from cirrostratus.runtime.batch import BatchRunner
from cirrostratus.runtime.containers import EngineProbe, probe_engine
from cirrostratus.runtime.env import task_environment
from cirrostratus.runtime.errors import TaskFailed, error_message
from cirrostratus.runtime.jobs import JobSpec, job_from_definition
from cirrostratus.runtime.logs import batch_log_path, read_logs
from cirrostratus.runtime.pool import LambdaPool
from cirrostratus.runtime.spec import LambdaSpec, spec_from_component, stack_of
from cirrostratus.storage import open_store, payload_key, read_url
from cirrostratus.storage.locations import Locations

_ERROR_LINE = re.compile(r"^(?:cirrus\.?lib\.errors\.)?(?:([\.\w]+):)?\s*(.*)")


@dataclass
class TaskRun:
    """The outcome: the output payload, or the error type and message; the task's log lines."""

    output: Any = None
    error: str | None = None
    message: str | None = None
    logs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def assign_payload_id(event: Any) -> str | None:
    """Give a process payload without an `id` the id Cirrus's process lambda would, in place.

    Cirrus assigns the id before any task runs, and tasks (cirrus-lib's `ProcessPayload`,
    stactask) read `event["id"]`; a task run straight from a file must see the same.
    Returns the id assigned, or None when the event has an id already or is not a valid
    process payload (a feeder's event, say), which is then passed on untouched.
    """
    if not isinstance(event, dict) or "id" in event:
        return None
    try:
        pid = Payload.from_dict(event).id
    except PayloadError:
        return None
    event["id"] = pid
    return pid


def class_spec(
    target: str,
    locations: Locations,
    *,
    region: str = "us-west-2",
    extra_env: Mapping[str, str] | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
    timeout_s: float = 900.0,
) -> LambdaSpec:
    """A spec for `module:Class` or `path/to/file.py:Class` (a stactask Task or a handler)."""
    module, _, attr = target.rpartition(":")
    path = Path(module)
    if module.endswith(".py") or path.parent != Path("."):
        directory, module = path.parent.resolve(), path.stem
    else:
        directory = Path.cwd()
    env = task_environment({}, stack_of(None), locations.cirrus_environment(), extra=extra_env)
    return LambdaSpec(
        name=attr,
        directory=directory,
        handler=f"{module}:{attr}",
        environment=env,
        timeout_s=timeout_s,
        memory_mb=1 << 20,  # a command-line run: no memory cap
        region=region,
        task_kwargs=dict(task_kwargs or {}),
    )


async def run_lambda(spec: LambdaSpec, event: Any, logs_dir: Path) -> TaskRun:
    """Invoke `spec` once in a fresh one-worker pool; collect its log lines."""
    request_id = str(uuid.uuid4())
    run = TaskRun()
    async with LambdaPool({spec.name: spec}, logs_dir=logs_dir, max_workers=1) as pool:
        try:
            run.output = await pool.invoke(spec.name, event, request_id=request_id)
        except TaskFailed as exc:
            run.error, run.message = exc.error, error_message(exc)
    run.logs = [
        r["message"]
        for r in read_logs(logs_dir, request_id=request_id, function=spec.name)
        if r["message"] != run.message  # a timeout's log line: the error line says it already
    ]
    return run


def lambda_spec(
    project: Any, name: str, locations: Locations, extra_env: Mapping[str, str] | None = None
) -> LambdaSpec | None:
    component = project.lambda_component(name)
    if component is None:
        return None
    return spec_from_component(
        component, locations, stack_of(project), extra_env=extra_env, project=project
    )


def batch_job(
    project: Any, name: str, locations: Locations, extra_env: Mapping[str, str] | None = None
) -> JobSpec:
    """The job that runs task `name` on Batch: its own job definition, else the lambda runner."""
    stack = stack_of(project)
    task = (getattr(project, "tasks", {}) or {}).get(name)
    owned = [
        jd for jd in (getattr(project, "job_definitions", {}) or {}).values() if jd.task == name
    ]
    owned.sort(key=lambda jd: not jd.runs_lambda)
    if owned:
        job = job_from_definition(owned[0], locations, stack, task=task)
    else:
        component = project.lambda_component(name)
        if component is None:
            raise LookupError(f"task {name!r} has neither a lambda nor a Batch job definition")
        raw = {
            **(getattr(project, "provider_environment", {}) or {}),
            **(component.environment or {}),
        }
        if raw:
            raw.update(AWS_REGION=stack.region, AWS_DEFAULT_REGION=stack.region)
        job = JobSpec(
            logical_id=f"{name}-as-batch",
            name=f"{stack.stack_name}-{name}",
            image="cirrusgeo/run-lambda:local",
            command=["run", name, "Ref::url"],
            environment=task_environment(raw, stack, locations.cirrus_environment()),
        )
    if extra_env:
        job = replace(job, environment={**job.environment, **extra_env})
    return job


async def run_batch(
    project: Any,
    name: str,
    event: Any,
    locations: Locations,
    *,
    extra_env: Mapping[str, str] | None = None,
    engine_probe: EngineProbe = probe_engine,
) -> TaskRun:
    """Run task `name` through the batch contract: store, run as a fresh process, read `_out.json`."""
    job = batch_job(project, name, locations, extra_env)
    runner = BatchRunner.for_project(project, locations, engine_probe=engine_probe)
    runner.jobs[job.logical_id] = job
    payload_id = event.get("id") if isinstance(event, dict) else None
    key = payload_key(f"batch/{payload_id or 'task-run'}", f"{uuid.uuid1()}.json")
    url = open_store(locations.payload_url).put_bytes(key, orjson.dumps(event))
    params = {
        "JobDefinition": job.logical_id,
        "JobName": name,
        "Parameters": {"url": url, "lambda_function": name},
    }
    run = TaskRun()
    try:
        description = await runner.submit_job(params)
    except TaskFailed as exc:
        try:
            description = orjson.loads(exc.cause or "")
        except orjson.JSONDecodeError:
            run.error, run.message = exc.error, exc.cause
            return run
        run.logs = _stream_lines(locations.logs_dir, description)
        last = run.logs[-1] if run.logs else ""
        m = _ERROR_LINE.match(last)
        if m and m.group(1):
            run.error, run.message = m.group(1), m.group(2)
        else:
            run.error, run.message = exc.error, str(description.get("StatusReason") or last)
        return run
    run.logs = _stream_lines(locations.logs_dir, description)
    run.output = orjson.loads(read_url(url.replace(".json", "_out.json")))
    return run


def _stream_lines(logs_dir: Path, description: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for attempt in description.get("Attempts") or []:
        stream = attempt.get("Container", {}).get("LogStreamName")
        if stream:
            path = batch_log_path(logs_dir, stream)
            if path.exists():
                lines += [
                    line for line in path.read_text(errors="replace").splitlines() if line.strip()
                ]
    return lines
