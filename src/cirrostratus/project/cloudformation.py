"""CloudFormation objects of a project, and the Batch parts a local runtime needs.

Objects come from `cloudformation/*.yml` (built-ins first, then the project) and then from the
`batch.resources` of batch-enabled tasks, so a task wins a name clash, as in Cirrus. From the
`Resources` section we model job definitions (with their merged environment), job queues and
compute environments (MaxvCpus), so a runtime can find a queue's concurrency cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cirrostratus.project import variables

LAMBDA_RUNNER_IMAGES = ("cirrusgeo/run-lambda", "cirrusgeo/run-geolambda")


@dataclass(kw_only=True)
class Resource:
    """One object of a CloudFormation section (`Resources`, `Outputs`, `Conditions`, ...)."""

    logical_id: str
    section: str
    body: Any
    source: str
    """`built-in`, the project-relative file (`cloudformation/s3.yml`) or `task <name>`."""
    file: str
    task: str | None = None

    @property
    def type(self) -> str | None:
        kind = self.body.get("Type") if isinstance(self.body, dict) else None
        return kind if isinstance(kind, str) else None

    @property
    def properties(self) -> dict[str, Any]:
        props = self.body.get("Properties") if isinstance(self.body, dict) else None
        return props if isinstance(props, dict) else {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "logical_id": self.logical_id,
            "section": self.section,
            "type": self.type,
            "source": self.source,
            "file": self.file,
            "body": self.body,
        }


@dataclass(kw_only=True)
class JobDefinition:
    """An `AWS::Batch::JobDefinition`, with the fields a local Batch runner needs."""

    logical_id: str
    task: str | None
    source: str
    file: str
    properties: dict[str, Any]
    name: str | None = None
    image: str | None = None
    command: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    vcpus: float | None = None
    memory_mb: int | None = None
    gpus: int = 0
    timeout_s: int | None = None
    attempts: int = 1

    @property
    def runs_lambda(self) -> bool:
        """True for Cirrus's lambda-runner images (`run <function> <url>`)."""
        return bool(self.image) and str(self.image).startswith(LAMBDA_RUNNER_IMAGES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "logical_id": self.logical_id,
            "task": self.task,
            "source": self.source,
            "name": self.name,
            "image": self.image,
            "command": self.command,
            "parameters": self.parameters,
            "environment": self.environment,
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
            "gpus": self.gpus,
            "timeout_s": self.timeout_s,
            "attempts": self.attempts,
        }


@dataclass(kw_only=True)
class ComputeEnvironment:
    """An `AWS::Batch::ComputeEnvironment`: its vCPU cap bounds concurrent jobs."""

    logical_id: str
    source: str
    type: str | None = None
    resource_type: str | None = None
    max_vcpus: float | None = None


@dataclass(kw_only=True)
class JobQueue:
    """An `AWS::Batch::JobQueue` and the compute environments (logical ids) it feeds."""

    logical_id: str
    source: str
    priority: int | None = None
    compute_environments: list[str] = field(default_factory=list)
    max_vcpus: float | None = None
    """Sum of MaxvCpus of its compute environments; None when any is unknown."""


def build_job_definition(
    resource: Resource, inherited: Mapping[str, Any], region: str, config: Mapping[str, Any]
) -> JobDefinition:
    """Model one job definition; `inherited` is provider | task environment (see environment.py)."""
    from cirrostratus.project.environment import job_environment

    props = resource.properties
    container = props.get("ContainerProperties")
    container = container if isinstance(container, dict) else {}
    own_env = container.get("Environment")
    requirements = {
        str(r.get("Type", "")).upper(): r.get("Value")
        for r in container.get("ResourceRequirements") or []
        if isinstance(r, dict)
    }
    vcpus = variables.as_number(requirements.get("VCPU", container.get("Vcpus")), config)
    memory = variables.as_int(requirements.get("MEMORY", container.get("Memory")), config)
    gpus = variables.as_int(requirements.get("GPU"), config) or 0
    timeout = props.get("Timeout")
    retry = props.get("RetryStrategy")
    attempts = variables.as_int(retry.get("Attempts"), config) if isinstance(retry, dict) else None
    command = container.get("Command")
    parameters = props.get("Parameters")
    name = props.get("JobDefinitionName")
    return JobDefinition(
        logical_id=resource.logical_id,
        task=resource.task,
        source=resource.source,
        file=resource.file,
        properties=props,
        name=name if isinstance(name, str) else None,
        image=_text(container.get("Image")),
        command=[str(c) for c in command] if isinstance(command, list) else [],
        parameters=dict(parameters) if isinstance(parameters, dict) else {},
        environment=job_environment(
            inherited, region, own_env if isinstance(own_env, list) else None
        ),
        vcpus=vcpus,
        memory_mb=memory,
        gpus=gpus,
        timeout_s=(
            variables.as_int(timeout.get("AttemptDurationSeconds"), config)
            if isinstance(timeout, dict)
            else None
        ),
        attempts=attempts if attempts and attempts > 0 else 1,
    )


def build_compute_environment(resource: Resource, config: Mapping[str, Any]) -> ComputeEnvironment:
    props = resource.properties
    compute = props.get("ComputeResources")
    compute = compute if isinstance(compute, dict) else {}
    return ComputeEnvironment(
        logical_id=resource.logical_id,
        source=resource.source,
        type=_text(props.get("Type")),
        resource_type=_text(compute.get("Type")),
        max_vcpus=variables.as_number(compute.get("MaxvCpus"), config),
    )


def build_job_queue(resource: Resource, environments: Mapping[str, ComputeEnvironment]) -> JobQueue:
    props = resource.properties
    order = props.get("ComputeEnvironmentOrder")
    names = [
        ref
        for entry in (order if isinstance(order, list) else [])
        if isinstance(entry, dict) and (ref := reference_name(entry.get("ComputeEnvironment")))
    ]
    caps = [environments[n].max_vcpus if n in environments else None for n in names]
    known = [c for c in caps if c is not None]
    priority = props.get("Priority")
    return JobQueue(
        logical_id=resource.logical_id,
        source=resource.source,
        priority=priority if isinstance(priority, int) else None,
        compute_environments=names,
        max_vcpus=sum(known) if known and len(known) == len(caps) else None,
    )


def reference_name(value: Any) -> str | None:
    """The logical id in `{"Ref": X}`, `{"Fn::GetAtt": [X, ...]}`, `#{X}` or `${X}`; else None."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att and isinstance(att[0], str):
            return att[0]
        sub = value.get("Fn::Sub")
        if isinstance(sub, str):
            return reference_name(sub)
    if isinstance(value, str) and value[:2] in ("#{", "${") and value.endswith("}"):
        return value[2:-1]
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"])
    return None
