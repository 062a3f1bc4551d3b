"""The worker side of the Dask executor: run one invocation with the local runtime.

The functions are coroutines, so Dask runs them on the worker's own event loop (no thread
hop per invocation). A Dask worker process keeps one `_Host`: a `LambdaPool` per engine
session (so a task's module is imported once per worker process and stays warm,
in the runtime's own worker subprocess, with the task's environment, timeout, memory limit,
working directory and log capture) and a `BatchRunner` per project (a fresh process per job,
as locally). Nothing is written to this machine's logs for Lambda invocations: the records
travel back with the answer and the engine files them under its `.cirro/logs`.

Results cross Dask as plain tuples — `("ok", result, logs)` or `("error", error, cause,
logs)` — because `TaskFailed` does not survive pickling with its two fields.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cirrostratus.runtime.errors import OUT_OF_MEMORY, TIMEOUT
from cirrostratus.runtime.logs import LogSink, batch_log_path
from cirrostratus.runtime.process import KILL_GRACE_S
from cirrostratus.runtime.spec import LambdaSpec
from cirrostratus.storage.locations import Locations

Outcome = tuple[Any, ...]
KILLED = (TIMEOUT, OUT_OF_MEMORY)
EPITAPH_PATIENCE_S = 5.0
"""How long past the kill's grace a killed invocation's last log lines are waited for."""
POOL_IDLE_S = 300.0
"""A session's pool unused this long is closed (an engine that ended or moved on)."""


class _Collector(LogSink):
    """A LogSink that keeps records in memory, per request, for the answer to carry back."""

    def __init__(self) -> None:
        super().__init__(None)
        self.records: list[tuple[str, str | None, str | None, list[list[Any]]]] = []

    def add(
        self,
        function: str,
        request_id: str | None,
        execution_id: str | None,
        records: Iterable[list[Any]],
    ) -> None:
        self.records.append((function, request_id, execution_id, list(records)))

    def flush(self) -> None:  # nothing to write here: the engine writes them
        return

    def has_epitaph(self, request_id: str) -> bool:
        """Whether the pool has filed why it killed this request (its last record)."""
        mark = f"RequestId: {request_id} Error:"
        return any(
            rid == request_id and any(str(r[2]).startswith(mark) for r in records)
            for _f, rid, _e, records in self.records
        )

    def take(self, request_id: str, running: set[str]) -> list[Any]:
        """This request's records, and stray ones of requests no longer running."""
        mine: list[Any] = []
        kept: list[Any] = []
        for entry in self.records:
            rid = entry[1]
            (mine if rid == request_id or rid not in running else kept).append(entry)
        self.records = kept
        return [list(e) for e in mine]


class _Host:
    """Per worker process: the warm pools and the batch runners."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self.pools: dict[str, tuple[Any, dict[str, LambdaSpec], _Collector]] = {}
        self.used: dict[str, float] = {}
        self.running: set[str] = set()
        self.batch: dict[tuple[str, str, Locations], Any] = {}

    async def invoke(
        self, session: str, spec: LambdaSpec, event: Any, request_id: str, execution_id: str | None
    ) -> Outcome:
        from cirrostratus.runtime.errors import TaskFailed
        from cirrostratus.runtime.pool import LambdaPool

        await self._close_idle(session)
        entry = self.pools.get(session)
        if entry is None:
            specs: dict[str, LambdaSpec] = {}
            sink = _Collector()
            pool = LambdaPool(specs, logs_dir=None, max_workers=self.max_workers, depth=1)
            pool.sink = sink
            entry = self.pools[session] = (pool, specs, sink)
        pool, specs, sink = entry
        specs.setdefault(spec.name, spec)
        self.used[session] = time.monotonic()
        self.running.add(request_id)
        try:
            result = await pool.invoke(
                spec.name, event, execution_id=execution_id, request_id=request_id
            )
            outcome: Outcome = ("ok", result)
        except TaskFailed as exc:
            outcome = ("error", exc.error, exc.cause)
        finally:
            self.running.discard(request_id)
        if outcome[0] == "error" and outcome[1] in KILLED:
            # killed for its time or memory: its last words and the `RequestId: … Error:`
            # epitaph come after the kill's grace; wait for them, so its log has them
            loop = asyncio.get_running_loop()
            deadline = loop.time() + KILL_GRACE_S + EPITAPH_PATIENCE_S
            while not sink.has_epitaph(request_id) and loop.time() < deadline:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0)  # let the worker's stderr of this request be read
        return (*outcome, sink.take(request_id, self.running))

    async def _close_idle(self, keep: str) -> None:
        now = time.monotonic()
        for session, used in list(self.used.items()):
            if session != keep and now - used > POOL_IDLE_S:
                pool = self.pools.pop(session)[0]
                self.used.pop(session, None)
                await pool.close()

    def batch_runner(self, session: str, root: str, locations: Locations) -> Any:
        """The project's Batch runner for this engine session (a new session reloads the
        project: its job definitions may have changed between two runs)."""
        for key in [k for k in self.batch if k[0] != session and k[1] == root]:
            del self.batch[key]
        runner = self.batch.get((session, root, locations))
        if runner is None:
            from cirrostratus.project import Project
            from cirrostratus.runtime.batch import BatchRunner

            runner = BatchRunner(Project.load(Path(root)), locations)
            self.batch[(session, root, locations)] = runner
        return runner


_HOST: _Host | None = None
_LOCK = threading.Lock()


def _host() -> _Host:
    global _HOST
    with _LOCK:
        if _HOST is None:
            _HOST = _Host(max_workers=_worker_threads())
        return _HOST


def _worker_threads() -> int:
    """As many warm runtime workers as the Dask worker runs tasks at once."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


async def run_lambda(
    session: str, spec: LambdaSpec, event: Any, request_id: str, execution_id: str | None
) -> Outcome:
    """A Dask task: one Lambda invocation in this worker's warm pool."""
    return await _host().invoke(session, spec, event, request_id, execution_id)


async def run_batch(
    session: str, root: str, locations: Locations, params: Mapping[str, Any]
) -> Outcome:
    """A Dask task: one `batch:submitJob.sync` job, run as the local Batch runner runs it.

    The job's log streams come back with the answer, so an engine on another machine can
    file them under its own `.cirro/logs/batch/` for `cirro payload logs` and post-batch.
    """
    from cirrostratus.runtime.errors import TaskFailed

    host = _host()
    runner = host.batch_runner(session, root, locations)
    try:
        job = await runner.submit_job(params)
        return ("ok", job, _job_logs(runner.logs_dir, job))
    except TaskFailed as exc:
        import orjson

        try:
            description = orjson.loads(exc.cause or "")
        except orjson.JSONDecodeError:
            description = None
        return ("error", exc.error, exc.cause, _job_logs(runner.logs_dir, description))


def _job_logs(logs_dir: Path, job: Any) -> dict[str, str]:
    streams: dict[str, str] = {}
    if not isinstance(job, dict):
        return streams
    for attempt in job.get("Attempts") or [{"Container": job.get("Container") or {}}]:
        stream = (attempt.get("Container") or {}).get("LogStreamName")
        if stream:
            try:
                streams[stream] = batch_log_path(logs_dir, stream).read_text(errors="replace")
            except OSError:
                continue
    return streams


def worker_resources() -> dict[str, float]:
    """Run on a worker: the resources it declared (for tests and diagnostics)."""
    from distributed import get_worker

    return dict(get_worker().state.total_resources)
