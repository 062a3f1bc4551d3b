"""ASL Task Resources → the runtime: the invoker the interpreter calls for every Task state.

Workflow definitions run unchanged, so the Resource is whatever the workflow wrote:
- `{"Fn::GetAtt": [name, "Arn"]}`, `!GetAtt name.Arn`, a Lambda ARN or a function name
  (`${self:service}-${self:provider.stage}-name`, `cirrus-dev-name`) → the lambda of component
  `name`, with the effective parameters as the event;
- `arn:aws:states:::lambda:invoke` → the function named by `Parameters.FunctionName` (any
  of the forms above), event = `Parameters.Payload`, result wrapped like the integration's
  (`{"ExecutedVersion", "Payload", "StatusCode", "SdkHttpMetadata", ...}`);
- `arn:aws:states:::batch:submitJob.sync` → `BatchRunner.submit_job(parameters)`, with
  `#{LogicalId}` job definitions and queues resolved to the project's resources;
- anything else fails with `States.Runtime` naming the Resource.
A lambda task that returns None fails with `TaskReturnedNone` naming the task and state.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from cirrostratus.runtime.batch import BatchRunner
from cirrostratus.runtime.errors import RETURNED_NONE, RUNTIME, TaskFailed, lambda_cause
from cirrostratus.runtime.logs import batch_log_path
from cirrostratus.runtime.names import function_ref
from cirrostratus.runtime.pool import LambdaPool

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
BATCH_SUBMIT_SYNC = "arn:aws:states:::batch:submitJob.sync"

Invoker = Callable[[Any, Any, Any], Awaitable[Any]]


def make_invoker(
    project: Any, lambda_pool: LambdaPool, batch_runner: BatchRunner | None = None
) -> Invoker:
    """The asl `Invoker` for a project: `await invoker(resource, parameters, context)`."""

    async def invoker(resource: Any, parameters: Any, context: Any) -> Any:
        execution_id = getattr(context, "execution_id", None)
        if resource == LAMBDA_INVOKE:
            return await _lambda_invoke(lambda_pool, parameters, execution_id, context)
        if resource == BATCH_SUBMIT_SYNC:
            if batch_runner is None:
                raise TaskFailed(
                    RUNTIME, "this run has no Batch runner; batch:submitJob.sync is unavailable"
                )
            params = parameters if isinstance(parameters, dict) else {}
            try:
                job = await batch_runner.submit_job(params)
            except TaskFailed as exc:
                _keep_job_logs(lambda_pool, batch_runner, _cause_json(exc.cause), execution_id)
                raise
            _keep_job_logs(lambda_pool, batch_runner, job, execution_id)
            return job
        if isinstance(resource, str) and resource.startswith("arn:aws:states:::"):
            raise TaskFailed(RUNTIME, _unsupported(resource))
        name = function_ref(resource)
        if name is None:
            raise TaskFailed(RUNTIME, _unsupported(resource))
        result = await lambda_pool.invoke(name, parameters, execution_id=execution_id)
        if result is None:
            raise _returned_none(lambda_pool.component_name(name), context)
        return result

    return invoker


def _returned_none(name: str, context: Any) -> TaskFailed:
    """A task that returns None fails here, naming itself.

    On AWS the Task state would succeed with `null` and the failure would surface later,
    in whichever state (or update-state) first reads the payload, with an error that names
    that state instead. A Cirrus task always returns its output payload, so the truthful
    place to fail is the task that returned nothing.
    """
    state = getattr(context, "state_name", None)
    where = f" (state {state!r})" if state else ""
    message = (
        f"task {name!r}{where} returned None: a Cirrus task must return its output payload "
        "(on AWS the next state would receive null and fail there)"
    )
    return TaskFailed(RETURNED_NONE, lambda_cause(RETURNED_NONE, message))


async def _lambda_invoke(
    pool: LambdaPool, parameters: Any, execution_id: str | None, context: Any = None
) -> dict[str, Any]:
    if not isinstance(parameters, dict) or "FunctionName" not in parameters:
        raise TaskFailed(
            RUNTIME,
            f"{LAMBDA_INVOKE} needs Parameters.FunctionName (e.g. FunctionName: !GetAtt publish.Arn)",
        )
    name = function_ref(parameters["FunctionName"])
    if name is None:
        raise TaskFailed(
            RUNTIME, f"FunctionName {parameters['FunctionName']!r} does not name a function"
        )
    request_id = str(uuid.uuid4())
    result = await pool.invoke(
        name, parameters.get("Payload", {}), execution_id=execution_id, request_id=request_id
    )
    if result is None:
        raise _returned_none(pool.component_name(name), context)
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": result,
        "SdkHttpMetadata": {
            "HttpHeaders": {
                "Content-Type": "application/json",
                "X-Amz-Executed-Version": "$LATEST",
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def _unsupported(resource: Any) -> str:
    return (
        f"unsupported Resource {resource!r}: a local run understands lambda functions "
        f"(Fn::GetAtt [name, Arn], !GetAtt name.Arn, a Lambda ARN), {LAMBDA_INVOKE} and "
        f"{BATCH_SUBMIT_SYNC}"
    )


def _cause_json(cause: str | None) -> Any:
    try:
        return orjson.loads(cause or "")
    except orjson.JSONDecodeError:
        return None


def _keep_job_logs(
    pool: LambdaPool, runner: BatchRunner, job: Any, execution_id: str | None
) -> None:
    """File a finished job's log streams under its execution, beside the lambda logs, so
    `cirro payload logs` shows what the Batch job printed too (function `batch:<job name>`)."""
    if execution_id is None or not isinstance(job, dict):
        return
    name = f"batch:{job.get('JobName') or job.get('JobDefinition') or 'job'}"
    when = (job.get("StoppedAt") or job.get("CreatedAt") or 0) / 1000
    for attempt in job.get("Attempts") or [{"Container": job.get("Container") or {}}]:
        stream = (attempt.get("Container") or {}).get("LogStreamName")
        if not stream:
            continue
        try:
            text = batch_log_path(runner.logs_dir, stream).read_text(errors="replace")
        except OSError:
            continue
        lines = [[when, stream, line] for line in text.splitlines()]
        pool.sink.add(name, job.get("JobId"), execution_id, lines)
    pool.flush_logs()
