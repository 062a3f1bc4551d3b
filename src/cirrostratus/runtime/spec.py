"""What the runtime needs to know about one Lambda task, and how to read it from a project.

`LambdaSpec` is deliberately small and plain so tests and tools can build one by hand; the
adapters read the project model's attribute names (see docs/architecture.md).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrostratus.runtime.env import (
    FUNCTION_PREFIX,
    LAMBDA_MB_PER_VCPU,
    LOCAL_ACCOUNT,
    StackContext,
    process_environment,
    task_environment,
)
from cirrostratus.runtime.names import component_name
from cirrostratus.storage.locations import Locations

DEFAULT_TIMEOUT_S = 6.0  # serverless' default
DEFAULT_MEMORY_MB = 1024


@dataclass(frozen=True)
class LambdaSpec:
    """One function: where its code is, its handler, its (local) environment and limits."""

    name: str
    directory: Path
    handler: str = "lambda_function.lambda_handler"
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    reserved_concurrency: int | None = None
    region: str = "us-west-2"
    task_kwargs: Mapping[str, Any] = field(default_factory=dict)
    workdir: Path | None = None
    """A fixed working directory (kept afterwards); None: a fresh temp dir per worker."""
    python: str | None = None
    """The interpreter of the task's own environment (see taskenv); None: the engine's."""

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{self.name}"

    def worker_environment(self, workdir: Path, log_stream: str) -> dict[str, str]:
        """Exactly what the worker process sees: the task's env plus Lambda's own variables."""
        env = process_environment(self.environment, self.memory_mb / LAMBDA_MB_PER_VCPU)
        # `--aws local` names functions as deployed: <service>-<stage>-<name>
        function_name = self.environment.get(FUNCTION_PREFIX, "") + self.name
        env.update(
            {
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_LAMBDA_FUNCTION_NAME": function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
                "LAMBDA_TASK_ROOT": str(self.directory),
                "TMPDIR": str(workdir),
                "TZ": ":UTC",
            }
        )
        return env


def stack_of(project: Any) -> StackContext:
    """Service, stage and region of a project model (serverless defaults when absent)."""
    config = getattr(project, "config", None) or {}
    return StackContext.from_config(config, getattr(project, "region", None))


def spec_from_component(
    component: Any,
    locations: Locations,
    stack: StackContext | None = None,
    *,
    extra_env: Mapping[str, str] | None = None,
    project: Any = None,
) -> LambdaSpec:
    """A LambdaSpec from a project `Component` (task, function or feeder with a lambda).

    A component with requirements runs in its own environment, built here if it is not yet
    (`taskenv`; off with `--no-task-envs` or the project's `custom.cirro.task_envs: false`).
    """
    from cirrostratus.runtime.taskenv import python_for

    stack = stack or StackContext()
    env = task_environment(
        getattr(component, "lambda_environment", None) or {},
        stack,
        locations.cirrus_environment(),
        extra=extra_env,
    )
    return LambdaSpec(
        name=component.name,
        directory=Path(component.directory),
        handler=component.handler or "lambda_function.lambda_handler",
        environment=env,
        timeout_s=float(component.timeout or DEFAULT_TIMEOUT_S),
        memory_mb=int(component.memory_size or DEFAULT_MEMORY_MB),
        reserved_concurrency=component.reserved_concurrency,
        region=stack.region,
        python=python_for(component, project),
    )


def lambda_names(project: Any) -> list[str]:
    """Names of every lambda-enabled component of a project."""
    names: list[str] = []
    for group in ("tasks", "functions", "feeders"):
        for name, comp in (getattr(project, group, None) or {}).items():
            if getattr(comp, "lambda_enabled", False) and name not in names:
                names.append(name)
    return names


def project_specs(
    project: Any,
    locations: Locations,
    *,
    extra_env: Mapping[str, str] | None = None,
) -> Callable[[str], LambdaSpec | None]:
    """A spec lookup for `LambdaPool`: any form of function name → the component's spec."""
    stack = stack_of(project)
    known = set(lambda_names(project))
    cache: dict[str, LambdaSpec | None] = {}

    def lookup(ref: str) -> LambdaSpec | None:
        if ref in cache:
            return cache[ref]
        name = component_name(ref, known, fill=stack.string)
        comp = project.lambda_component(name) if name else None
        spec = (
            spec_from_component(comp, locations, stack, extra_env=extra_env, project=project)
            if comp
            else None
        )
        cache[ref] = spec
        return spec

    return lookup
