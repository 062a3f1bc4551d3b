"""What the Batch runner needs to know about one job definition, and reading it from a project.

`JobSpec` holds a job definition made local: its command with `Ref::x` placeholders, the
default parameters, the environment by the seed's rules (provider < task < AWS_REGION /
AWS_DEFAULT_REGION < the job definition's own list) made local, the resources it asks for,
its timeout and attempts; plus where a local command may run (`batch.local.command` of the
owning task).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrostratus.runtime.env import StackContext, Unresolvable, task_environment
from cirrostratus.storage.locations import Locations

LAMBDA_RUNNER_IMAGES = ("cirrusgeo/run-lambda", "cirrusgeo/run-geolambda")
SPOT_TYPES = ("SPOT", "FARGATE_SPOT")
_REF = re.compile(r"Ref::([A-Za-z0-9_\-]+)")
_JOBDEF_ARN = re.compile(r"^arn:[^:]+:batch:[^:]*:[^:]*:job-definition/([^:]+)(?::\d+)?$")
_QUEUE_ARN = re.compile(r"^arn:[^:]+:batch:[^:]*:[^:]*:job-queue/(.+)$")


@dataclass(frozen=True)
class JobSpec:
    """One job definition, local."""

    logical_id: str
    name: str
    image: str | None = None
    command: Sequence[str] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    vcpus: float = 1.0
    memory_mb: int = 0
    gpus: int = 0
    timeout_s: float | None = None
    attempts: int = 1
    task: str | None = None
    directory: Path | None = None
    local_command: Sequence[str] | None = None

    @property
    def runs_lambda(self) -> bool:
        """Cirrus's lambda-runner images: `run <function> <url>` runs a task's lambda code."""
        return bool(self.image) and str(self.image).startswith(LAMBDA_RUNNER_IMAGES)


@dataclass(frozen=True)
class QueueSpec:
    """A job queue: its name and the vCPU cap of its compute environments (None: no cap)."""

    logical_id: str
    name: str
    max_vcpus: float | None = None
    spot: bool = False
    """Its first compute environment is SPOT (or FARGATE_SPOT): jobs may be interrupted."""


def fill_refs(command: Sequence[str], parameters: Mapping[str, str]) -> list[str]:
    """Replace `Ref::name` placeholders as AWS Batch does (unknown names stay as written)."""
    return [
        _REF.sub(lambda m: parameters.get(m.group(1), m.group(0)), str(part)) for part in command
    ]


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _name(value: Any, stack: StackContext, fallback: str) -> str:
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        value = value["Fn::Sub"].replace("${AWS::", "#{AWS::")
    if isinstance(value, str):
        try:
            return stack.string(value)
        except Unresolvable:
            return value
    return fallback


def job_from_definition(
    jobdef: Any,
    locations: Locations,
    stack: StackContext | None = None,
    *,
    task: Any = None,
) -> JobSpec:
    """A JobSpec from a project `JobDefinition` (and its owning `Task`, if any)."""
    stack = stack or StackContext()
    command = []
    for part in jobdef.command or []:
        try:
            command.append(stack.string(str(part)))
        except Unresolvable:
            command.append(str(part))
    return JobSpec(
        logical_id=jobdef.logical_id,
        name=_name(jobdef.name, stack, jobdef.logical_id),
        image=jobdef.image,
        command=command,
        parameters={str(k): _str(v) for k, v in (jobdef.parameters or {}).items()},
        environment=task_environment(
            jobdef.environment or {}, stack, locations.cirrus_environment()
        ),
        vcpus=float(jobdef.vcpus or 1),
        memory_mb=int(jobdef.memory_mb or 0),
        gpus=int(jobdef.gpus or 0),
        timeout_s=float(jobdef.timeout_s) if jobdef.timeout_s else None,
        attempts=max(1, int(jobdef.attempts or 1)),
        task=jobdef.task,
        directory=Path(task.directory) if task is not None else None,
        local_command=list(task.local_command) if task is not None and task.local_command else None,
    )


def project_jobs(project: Any, locations: Locations, stack: StackContext) -> dict[str, JobSpec]:
    """Every job definition of a project by logical id."""
    tasks = getattr(project, "tasks", {}) or {}
    return {
        logical_id: job_from_definition(
            jd, locations, stack, task=tasks.get(jd.task) if jd.task else None
        )
        for logical_id, jd in (getattr(project, "job_definitions", {}) or {}).items()
    }


def project_queues(project: Any, stack: StackContext) -> dict[str, QueueSpec]:
    """Every job queue of a project by logical id, with its vCPU cap."""
    resources = getattr(project, "resources", {}) or {}
    environments = getattr(project, "compute_environments", {}) or {}
    out: dict[str, QueueSpec] = {}
    for logical_id, queue in (getattr(project, "job_queues", {}) or {}).items():
        res = resources.get(logical_id)
        props = getattr(res, "properties", {}) if res is not None else {}
        first = (
            environments.get(queue.compute_environments[0]) if queue.compute_environments else None
        )
        out[logical_id] = QueueSpec(
            logical_id=logical_id,
            name=_name(props.get("JobQueueName"), stack, logical_id),
            max_vcpus=queue.max_vcpus,
            spot=first is not None and str(first.resource_type).upper() in SPOT_TYPES,
        )
    return out


def reference(value: Any) -> str:
    """`#{X}` / `${X}` → X; a job definition or queue ARN → its name; else the string."""
    if isinstance(value, dict):
        for key in ("Ref", "Fn::Sub"):
            if isinstance(value.get(key), str):
                return reference(value[key])
        return str(value)
    text = str(value)
    if text[:2] in ("#{", "${") and text.endswith("}") and text.count("{") == 1:
        return text[2:-1]
    for pattern in (_JOBDEF_ARN, _QUEUE_ARN):
        m = pattern.match(text)
        if m:
            return m.group(1)
    return text
