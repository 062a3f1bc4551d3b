"""How a task runs locally: warm Lambda worker pools, Batch jobs, stactask, Resource resolution.

See docs/runtime.md. The pieces:
- `LambdaPool.invoke(function_name, event)` runs a Lambda handler in a warm worker;
- `BatchRunner.submit_job(parameters)` runs a `batch:submitJob.sync` job as a fresh process;
- `make_invoker(project, pool, batch)` turns ASL Task Resources into those calls.
Failures raise `TaskFailed(error, cause)` with the names AWS uses.
"""

from cirrostratus.runtime.errors import TaskFailed
from cirrostratus.runtime.logs import read_logs
from cirrostratus.runtime.pool import LambdaPool
from cirrostratus.runtime.spec import LambdaSpec, project_specs, spec_from_component

__all__ = [
    "LambdaPool",
    "LambdaSpec",
    "TaskFailed",
    "project_specs",
    "read_logs",
    "spec_from_component",
]
