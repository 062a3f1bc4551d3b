"""The engine side of the Dask executor: the lambda pool and Batch runner the invoker calls.

`DaskLambdaPool` and `DaskBatchRunner` have the interface `runtime.resolve.make_invoker`
uses for `LambdaPool` and `BatchRunner` (`invoke`, `component_name`, `sink`, `flush_logs`,
`close`; `submit_job`, `logs_dir`), so the workflows, the interpreter and the state rules
do not know where a task ran. Each invocation is one `client.submit` of a `dask_remote`
function, awaited on the engine's loop.

Failures keep AWS's names: what the task raised comes back as the worker's runtime named
it; a Dask worker that dies mid-invocation is `Runtime.ExitError` for a Lambda and, for a
Batch job, an attempt whose host went away (`Host EC2 (instance …) terminated.`), retried up
to the job's `RetryStrategy.Attempts`; a task that no worker can hold fails at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.executors.dask_cluster import Cluster, ClusterUnavailable
from cirrostratus.executors.dask_remote import run_batch, run_lambda
from cirrostratus.executors.dask_resources import batch_needs, how_to_add, lambda_needs, placement
from cirrostratus.runtime.batch_description import finish, now_ms, submission
from cirrostratus.runtime.errors import (
    BATCH_FAILED,
    EXIT_ERROR,
    TaskFailed,
    lambda_cause,
    runtime_failure,
)
from cirrostratus.runtime.logs import LogSink, batch_log_path
from cirrostratus.runtime.spec import LambdaSpec
from cirrostratus.storage.locations import Locations

INSUFFICIENT = "Dask.InsufficientResources"
UNAVAILABLE = "Dask.SchedulerUnavailable"
FLUSH_S = 0.2


async def _submitted(cluster: Cluster, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Submit `fn(*args)` and await its answer; resubmit when the scheduler went away
    before answering (the client cancels every future then). Returns the answer or raises
    what the future raised (KilledWorker when the worker running it died)."""
    from distributed.client import FutureCancelledError

    while True:
        try:
            await cluster.ready()
        except ClusterUnavailable as exc:
            raise runtime_failure(UNAVAILABLE, str(exc)) from None
        future = cluster.client.submit(fn, *args, pure=False, **kw)
        cluster.running += 1
        try:
            return await future
        except FutureCancelledError:
            task = asyncio.current_task()
            if (task is not None and task.cancelling()) or cluster.connected:
                raise
            continue  # the scheduler is gone: wait for it, then run the invocation again
        finally:
            cluster.running -= 1
            future.release()


def _lost_worker(exc: BaseException) -> str | None:
    """The address of the worker whose death failed this task (None: another failure)."""
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        worker = getattr(exc, "last_worker", None)
        return str(getattr(worker, "address", None) or "a dask worker")
    return None


class DaskLambdaPool:
    """Lambda invocations on the cluster's workers, warm there (see `dask_remote`)."""

    def __init__(
        self,
        cluster: Cluster,
        specs: Callable[[str], LambdaSpec | None] | Mapping[str, LambdaSpec],
        *,
        logs_dir: Path | None = None,
    ) -> None:
        self.cluster = cluster
        self._lookup = specs.get if isinstance(specs, Mapping) else specs
        self._names: dict[str, str] = {}
        self.sink = LogSink(logs_dir)
        self.session = uuid.uuid4().hex  # this engine's pools on the workers
        self._closed = False
        self._flush_at: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> DaskLambdaPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _spec(self, function_name: str) -> LambdaSpec:
        from cirrostratus.runtime.taskenv import TaskEnvError

        try:
            spec = self._lookup(function_name)
        except TaskEnvError as exc:
            raise TaskFailed("Runtime.TaskEnvError", str(exc)) from None
        if spec is None:
            raise TaskFailed(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {function_name} (no lambda-enabled task, function or "
                "feeder of that name in the project)",
            )
        self._names[function_name] = spec.name
        return spec

    async def invoke(
        self,
        function_name: str,
        event: Any,
        *,
        execution_id: str | None = None,
        request_id: str | None = None,
    ) -> Any:
        """Run one invocation on a worker; its result, or TaskFailed as the local pool's."""
        if self._closed:
            raise runtime_failure(EXIT_ERROR, "the lambda pool is closed")
        spec = self._spec(function_name)
        rid = request_id or str(uuid.uuid4())
        if isinstance(event, orjson.Fragment):
            event = orjson.loads(event.contents)
        constraints, missing = placement(
            lambda_needs(spec.memory_mb), self.cluster.worker_resources()
        )
        if missing:
            message = how_to_add(f"function {spec.name} {missing}: no Dask worker can run it")
            raise TaskFailed(INSUFFICIENT, lambda_cause(INSUFFICIENT, message))
        try:
            outcome = await _submitted(
                self.cluster,
                run_lambda,
                self.session,
                spec,
                event,
                rid,
                execution_id,
                resources=constraints or None,
                key=f"lambda-{spec.name}-{rid}",
            )
        except TaskFailed:
            raise
        except Exception as exc:
            worker = _lost_worker(exc)
            if worker is None:
                raise runtime_failure(
                    EXIT_ERROR, f"RequestId: {rid} Error: {type(exc).__name__}: {exc}"
                ) from None
            message = (
                f"RequestId: {rid} Error: Runtime exited with error: signal: killed "
                f"(the Dask worker {worker} running it was lost)"
            )
            self.sink.add(spec.name, rid, execution_id, [[time.time(), "stderr", message]])
            self._schedule_flush()
            raise runtime_failure(EXIT_ERROR, message) from None
        logs = outcome[-1]
        for function, req, execution, records in logs:
            self.sink.add(function, req, execution, records)
        self._schedule_flush()
        if outcome[0] == "ok":
            return outcome[1]
        raise TaskFailed(outcome[1], outcome[2])

    def _schedule_flush(self) -> None:
        if self._flush_at is None and not self._closed:
            self._flush_at = asyncio.get_running_loop().call_later(FLUSH_S, self._flush_now)

    def _flush_now(self) -> None:
        self._flush_at = None
        self.sink.flush()

    def component_name(self, function_name: str) -> str:
        return self._names.get(function_name, function_name)

    @property
    def closed(self) -> bool:
        return self._closed

    def flush_logs(self) -> None:
        self.sink.flush()

    async def close(self, timeout: float = 5.0) -> None:
        """Flush the logs, then let the cluster go (a LocalCluster stops)."""
        if self._closed:
            return
        self._closed = True
        if self._flush_at is not None:
            self._flush_at.cancel()
        self.sink.flush()
        await self.cluster.close()


class DaskBatchRunner:
    """`batch:submitJob.sync` jobs on the cluster: each runs as the local runner runs it, on
    a worker that has the job's vCPUs, memory and GPUs."""

    def __init__(self, cluster: Cluster, project: Any, locations: Locations) -> None:
        from cirrostratus.runtime.batch import BatchRunner

        self.cluster = cluster
        self.root = str(project.root)
        self.locations = locations
        self.local = BatchRunner(project, locations)  # to read job definitions here
        self.logs_dir = self.local.logs_dir
        self.session = uuid.uuid4().hex  # the workers load the project once per session

    async def submit_job(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(params, Mapping) or "JobDefinition" not in params:
            raise TaskFailed(
                "Batch.ClientException", "submitJob needs JobDefinition, JobName and JobQueue"
            )
        job = self.local.job(params["JobDefinition"])  # an unknown one fails as locally
        queue = self.local.queue(params.get("JobQueue"))
        description = submission(job, queue, params, self.local.stack.region).description
        constraints, missing = placement(
            batch_needs(job, params.get("ContainerOverrides")), self.cluster.worker_resources()
        )
        if missing:
            reason = how_to_add(
                f"job definition {job.logical_id} {missing}: no Dask worker can run it"
            )
            description["Attempts"].append(self._attempt(job, reason, "InsufficientResources"))
            finish(description)  # raises: the attempt has no exit code
        attempts: list[dict[str, Any]] = description["Attempts"]
        for _ in range(max(1, job.attempts)):
            try:
                outcome = await _submitted(
                    self.cluster,
                    run_batch,
                    self.session,
                    self.root,
                    self.locations,
                    dict(params),
                    resources=constraints or None,
                    key=f"batch-{job.name}-{uuid.uuid4()}",
                )
            except TaskFailed:
                raise
            except Exception as exc:
                worker = _lost_worker(exc)
                if worker is None:
                    raise runtime_failure(BATCH_FAILED, f"{type(exc).__name__}: {exc}") from None
                reason = f"Host EC2 (instance {worker}) terminated."
                attempts.append(self._attempt(job, reason, "cirro: the Dask worker was lost"))
                continue
            self._keep_logs(outcome[-1])
            if outcome[0] == "ok":
                job_out: dict[str, Any] = outcome[1]
                job_out["Attempts"] = attempts + list(job_out.get("Attempts") or [])
                return job_out
            if attempts:  # earlier attempts lost their worker: keep them in the description
                try:
                    remote = orjson.loads(outcome[2] or "")
                    remote["Attempts"] = attempts + list(remote.get("Attempts") or [])
                    raise TaskFailed(outcome[1], orjson.dumps(remote).decode())
                except (orjson.JSONDecodeError, TypeError, AttributeError):
                    pass
            raise TaskFailed(outcome[1], outcome[2])
        finish(description)  # raises: every attempt lost its worker, none has an exit code
        raise AssertionError("unreachable")  # pragma: no cover

    def _keep_logs(self, streams: Mapping[str, str]) -> None:
        """Log streams written on another machine, filed here (same-machine ones exist)."""
        for stream, text in streams.items():
            path = batch_log_path(self.logs_dir, stream)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)

    def _attempt(self, job: Any, reason: str, first_line: str) -> dict[str, Any]:
        """An attempt that never ran its command, with a log whose last line is why."""
        stream = f"{job.name}/default/{uuid.uuid4().hex}"
        path = batch_log_path(self.logs_dir, stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{first_line}\n{reason}\n")
        now = now_ms()
        return {
            "Container": {"ExitCode": None, "LogStreamName": stream},
            "StartedAt": now,
            "StoppedAt": now,
            "StatusReason": reason,
        }

    async def close(self) -> None:
        return


class DaskExecutor:
    """What `--executor dask` installs on an engine: `await executor(engine)` starts (or
    joins) the cluster and returns the lambda pool and Batch runner for this session."""

    def __init__(self, options: Any) -> None:
        self.options = options
        self.cluster: Cluster | None = None

    async def __call__(self, engine: Any) -> tuple[DaskLambdaPool, DaskBatchRunner]:
        from cirrostratus.executors.dask_storage import check_shared_storage, scheduler_host
        from cirrostratus.runtime.spec import project_specs

        cluster = self.cluster = await Cluster(self.options).start()
        try:  # the workers may be elsewhere even when the scheduler is here
            hosts = [scheduler_host(cluster.address), *cluster.worker_hosts()]
            check_shared_storage(engine.locations, hosts)
        except BaseException:
            await cluster.close()
            raise
        pool = DaskLambdaPool(
            cluster,
            project_specs(engine.project, engine.locations),
            logs_dir=engine.locations.logs_dir,
        )
        return pool, DaskBatchRunner(cluster, engine.project, engine.locations)

    def status(self) -> dict[str, int]:
        """Workers and invocations running, for the progress line ({} before the start)."""
        if self.cluster is None or self.cluster.client is None:
            return {}
        return self.cluster.status()
