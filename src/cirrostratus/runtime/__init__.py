"""How a task runs locally: warm Lambda worker pools, Batch jobs, stactask, Resource resolution.

See docs/runtime.md. The pieces:
- `LambdaPool.invoke(function_name, event)` runs a Lambda handler in a warm worker;
- `BatchRunner.submit_job(parameters)` runs a `batch:submitJob.sync` job as fresh processes;
- `make_invoker(project, pool, batch)` turns ASL Task Resources into those calls.
Failures raise `TaskFailed(error, cause)` with the names AWS uses.

Names are imported on first use, so a worker process (`cirrostratus.runtime.worker`) starts
without loading asyncio, the batch runner or the project model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cirrostratus.runtime.batch import BatchRunner
    from cirrostratus.runtime.errors import TaskFailed
    from cirrostratus.runtime.jobs import JobSpec, QueueSpec, job_from_definition
    from cirrostratus.runtime.logs import batch_log_path, read_logs
    from cirrostratus.runtime.pool import LambdaPool
    from cirrostratus.runtime.resolve import make_invoker
    from cirrostratus.runtime.spec import LambdaSpec, project_specs, spec_from_component

_WHERE = {
    "BatchRunner": "batch",
    "JobSpec": "jobs",
    "LambdaPool": "pool",
    "LambdaSpec": "spec",
    "QueueSpec": "jobs",
    "TaskFailed": "errors",
    "batch_log_path": "logs",
    "job_from_definition": "jobs",
    "make_invoker": "resolve",
    "project_specs": "spec",
    "read_logs": "logs",
    "spec_from_component": "spec",
}

__all__ = [
    "BatchRunner",
    "JobSpec",
    "LambdaPool",
    "LambdaSpec",
    "QueueSpec",
    "TaskFailed",
    "batch_log_path",
    "job_from_definition",
    "make_invoker",
    "project_specs",
    "read_logs",
    "spec_from_component",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'cirrostratus.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"cirrostratus.runtime.{module}"), name)
    globals()[name] = value
    return value
