"""Warm Lambda execution environments: a pool of worker processes per function.

Like Lambda, a function keeps execution environments warm and reuses them: each worker
imports the handler once and then serves many invocations. Unlike Lambda, requests to a
function that runs briefly are pipelined — up to `depth` are in a worker's pipe at once — so
a worker never waits for the parent between invocations; a long-running function's requests
wait in the parent for the first free worker instead. Workers start lazily, at most
`reserved_concurrency` per function and `max_workers` in all, and not while the workers
already keep every core busy (runtime/cpu.py); idle ones stop after `idle_timeout` seconds.

Limits are enforced from the parent by one housekeeping task: a request running longer than
the function's timeout fails with `States.Timeout`, a worker whose resident memory passes
`memorySize` fails with `Runtime.OutOfMemory`; either way the worker is killed and replaced
and the requests queued behind it (which never started) go to another worker. Memory is
measured as RSS from /proc rather than capped with RLIMIT_AS because RLIMIT_AS counts address
space, not memory: glibc arenas, thread stacks and mapped libraries reserve far more than
they use (numpy alone reserves hundreds of MB), so a 128 MB address-space cap breaks
imports, and the failure surfaces as a MemoryError the handler may catch instead of a kill.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cirrostratus.runtime.children import PIDS_DIR, ChildRecords, die_with_parent, reap
from cirrostratus.runtime.cpu import CpuUse
from cirrostratus.runtime.errors import (
    EXIT_ERROR,
    OUT_OF_MEMORY,
    TIMEOUT,
    TOO_MANY_REQUESTS,
    TaskFailed,
    runtime_failure,
)
from cirrostratus.runtime.logs import LogSink
from cirrostratus.runtime.peaks import PeakMemory
from cirrostratus.runtime.process import INIT_TIMEOUT_S, Request, Worker, rss_mb
from cirrostratus.runtime.protocol import encode
from cirrostratus.runtime.spec import LambdaSpec

log = logging.getLogger(__name__)

SpecLookup = Callable[[str], LambdaSpec | None] | Mapping[str, LambdaSpec]

STEAL_AFTER_S = 1.0
"""At the global cap, only a worker idle this long is stopped to make room for another function."""
PIPELINE_BELOW_S = 0.05
"""Only a function whose invocations typically take less than this is pipelined.

Pipelining saves one parent round trip (a fraction of a millisecond) per invocation, which
matters for tiny tasks only. For long ones it costs: a request written into a busy worker's
pipe cannot move, so a burst of long tasks ends with one worker still working through its
pipe while another sits idle. Until a function has answered once its duration is unknown,
and it is not pipelined either."""
CPU_SAMPLE_S = 0.25
"""How often the workers' CPU use is measured (runtime/cpu.py)."""


class _FunctionPool:
    """The workers and the queue of one function."""

    def __init__(self, pool: LambdaPool, spec: LambdaSpec) -> None:
        self.pool = pool
        self.spec = spec
        self.safe_name = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec.name)
        self.workers: list[Worker] = []
        self.pending: deque[Request] = deque()
        self.typical_s: float | None = None  # moving average of invocation durations
        rc = spec.reserved_concurrency
        self.limit = max(1, rc) if rc is not None else pool.max_workers

    def dispatch(self) -> None:
        """Hand pending requests to workers: an idle one, else a new one, else the least busy.

        At most one worker of a function starts at a time: a burst waits for the starting
        worker instead of paying a cold start (an import) per request, which on a small
        machine costs more CPU than it saves. Only short functions are pipelined
        (PIPELINE_BELOW_S); a long one's requests wait here for the first free worker. While
        the workers already keep every core busy (`cores_full`), a function that has a
        worker waits for it rather than starting another.
        """
        pending = self.pending
        typical = self.typical_s
        depth = self.pool.depth if typical is not None and typical < PIPELINE_BELOW_S else 1
        while pending:
            target = None
            least = depth
            starting = False
            for w in self.workers:
                n = len(w.inflight)
                if n == 0:
                    target = w
                    break
                starting = starting or not w.ready
                if n < least:
                    least, target = n, w
            if target is None or target.inflight:
                can_grow = (
                    not starting
                    and len(self.workers) < self.limit
                    and not (self.workers and self.pool.cores_full)
                )
                # a function that has a worker only grows into a free slot; one with none
                # may take the slot of a quiet worker elsewhere (else it could never run)
                if can_grow and self.pool.reserve(self, steal=not self.workers):
                    target = self.spawn()
                elif target is None:
                    if can_grow:
                        self.pool.starved.add(self)  # waits for a slot elsewhere
                    return
            target.send(pending.popleft())

    def timed(self, seconds: float) -> None:
        """Note how long an invocation ran (an exponential moving average)."""
        typical = self.typical_s
        self.typical_s = seconds if typical is None else 0.8 * typical + 0.2 * seconds

    def requeue(self, reqs: deque[Request]) -> None:
        self.pending.extendleft(reversed(reqs))

    def spawn(self) -> Worker:
        worker = Worker(self)
        self.workers.append(worker)
        self.pool.live.add(worker)
        env = self.spec.worker_environment(worker.workdir, worker.log_stream)
        self.pool.start_task(self._start(worker, env))
        return worker

    async def _start(self, worker: Worker, env: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.subprocess_exec(
                lambda: worker,
                self.spec.python or sys.executable,  # the task's own environment, if it has one
                "-m",
                "cirrostratus.runtime.worker",
                env=env,
                cwd=worker.workdir,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own group: a kill takes what it started too
                preexec_fn=die_with_parent(),  # and it dies with the engine (children.py)
            )
        except OSError as exc:
            self.remove(worker)
            for req in worker.inflight:
                req.fail(
                    runtime_failure(
                        EXIT_ERROR, f"could not start a worker for {self.spec.name}: {exc}"
                    )
                )
            worker.inflight.clear()
            if worker._own_workdir:
                shutil.rmtree(worker.workdir, ignore_errors=True)

    def remove(self, worker: Worker) -> None:
        if worker.alive:
            worker.alive = False
            self.workers.remove(worker)
            self.pool.release()

    def housekeep(self, now: float) -> None:
        spec = self.spec
        for w in list(self.workers):
            if w.inflight:
                limit = spec.timeout_s if w.ready else max(INIT_TIMEOUT_S, spec.timeout_s)
                if now - w.head_started > limit:
                    w.kill(TIMEOUT, f"Task timed out after {spec.timeout_s:.2f} seconds")
                    continue
                if w.pid:
                    used = rss_mb(w.pid)
                    if used > spec.memory_mb:
                        w.kill(
                            OUT_OF_MEMORY,
                            f"Runtime exited with error: memory used ({used:.0f} MB) exceeded "
                            f"the function's memorySize ({spec.memory_mb} MB); the worker was killed",
                        )
            elif now - w.last_used > self.pool.idle_timeout:
                self.pool.peaks.note(spec.name, w.pid)
                w.stop()


class LambdaPool:
    """Warm worker pools for every function, behind one async `invoke`.

    `specs` maps a function name (as workflows write it) to its LambdaSpec: a dict, or a
    lookup such as `spec.project_specs(project, locations)`. Use as `async with` or call
    `await close()` at the end.
    """

    def __init__(
        self,
        specs: SpecLookup,
        *,
        logs_dir: Path | None = None,
        max_workers: int | None = None,
        depth: int = 4,
        max_queue: int = 1000,
        idle_timeout: float = 60.0,
        poll_interval: float = 0.05,
        children_dir: Path | None = None,
    ) -> None:
        """`children_dir` (default: `pids/` beside `logs_dir`, i.e. `.cirro/pids`) records
        the workers, so a new engine kills those a killed one left behind; leftovers of
        dead engines found there are killed now. No `logs_dir` and no `children_dir`: no
        records (the parent-death signal still applies)."""
        if children_dir is None and logs_dir is not None:
            children_dir = Path(logs_dir).parent / PIDS_DIR
        reap(children_dir)
        self.children = ChildRecords(children_dir)
        self._lookup: Callable[[str], LambdaSpec | None] = (
            specs.get if isinstance(specs, Mapping) else specs
        )
        self.sink = LogSink(logs_dir)
        self.peaks = PeakMemory(logs_dir)  # for `cirro show tasks --fit`
        self.max_workers = max_workers or max(2, (os.cpu_count() or 1) * 2)
        self.depth = max(1, depth)
        self.max_queue = max_queue
        self.idle_timeout = idle_timeout
        self.poll_interval = poll_interval
        self._pools: dict[str, _FunctionPool] = {}
        self._by_ref: dict[str, _FunctionPool] = {}
        self._count = 0
        self._seq = 0
        self._janitor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.live: set[Worker] = set()  # spawned and not yet reaped, killed ones included
        self.starved: set[_FunctionPool] = set()
        self._kick_scheduled = False
        self.cpu = CpuUse()
        self.cores = os.cpu_count() or 1
        self.cores_full = False  # the workers used every core at the last measurement

    async def __aenter__(self) -> LambdaPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def invoke(
        self,
        function_name: str,
        event: Any,
        *,
        execution_id: str | None = None,
        request_id: str | None = None,
    ) -> Any:
        """Run one invocation and return the handler's result; raise TaskFailed on failure.

        `event` is any JSON data; an event that is already JSON text can be passed as
        `orjson.Fragment(data)` so it is not decoded and encoded again.
        """
        if self._closed:
            raise runtime_failure(EXIT_ERROR, "the lambda pool is closed")
        fp = self._by_ref.get(function_name) or self._open(function_name)
        if len(fp.pending) >= self.max_queue:
            raise TaskFailed(
                TOO_MANY_REQUESTS,
                f"Rate Exceeded: {len(fp.pending)} invocations of {fp.spec.name} are already "
                f"waiting for a worker (max_queue={self.max_queue})",
            )
        self._seq += 1
        rid = request_id or str(uuid.uuid4())
        try:
            frame = encode([self._seq, rid, event])
        except TypeError as exc:
            raise TaskFailed(
                "Lambda.InvalidRequestContentException", f"the event is not JSON: {exc}"
            ) from None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        req = Request(self._seq, rid, execution_id, frame, future)
        fp.pending.append(req)
        fp.dispatch()
        if self._janitor is None:
            self._janitor = asyncio.get_running_loop().create_task(self._housekeeping())
        try:
            return await future
        except asyncio.CancelledError:
            if req in fp.pending:
                fp.pending.remove(req)
            raise

    def _open(self, function_name: str) -> _FunctionPool:
        from cirrostratus.runtime.taskenv import TaskEnvError

        try:
            spec = self._lookup(function_name)
        except TaskEnvError as exc:  # its requirements cannot be installed: say which
            raise TaskFailed("Runtime.TaskEnvError", str(exc)) from None
        if spec is None:
            raise TaskFailed(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {function_name} (no lambda-enabled task, function or "
                "feeder of that name in the project)",
            )
        fp = self._pools.get(spec.name)
        if fp is None:
            fp = self._pools[spec.name] = _FunctionPool(self, spec)
        self._by_ref[function_name] = fp
        return fp

    # -- capacity ---------------------------------------------------------------------
    def reserve(self, asking: _FunctionPool, *, steal: bool = True) -> bool:
        """Take a worker slot; at the global cap (and if `steal`), stop the longest-idle
        worker of another function for it."""
        if self._count >= self.max_workers:
            if not steal:
                return False
            # only a worker idle for a while: stealing one that is merely between two
            # requests of a pipeline makes workers of consecutive tasks evict each other
            quiet = time.monotonic() - STEAL_AFTER_S
            idle = [
                w
                for fp in self._pools.values()
                if fp is not asking
                for w in fp.workers
                if not w.inflight and w.last_used < quiet
            ]
            if not idle:
                return False
            min(idle, key=lambda w: w.last_used).stop()
        self._count += 1
        return True

    def release(self) -> None:
        self._count -= 1
        if self.starved:
            self.kick()

    def kick(self) -> None:
        """Soon, let functions that found no free worker slot try again."""
        if not self._kick_scheduled and not self._closed:
            self._kick_scheduled = True
            asyncio.get_running_loop().call_soon(self._kick)

    def _kick(self) -> None:
        self._kick_scheduled = False
        starved, self.starved = self.starved, set()
        for fp in starved:
            fp.dispatch()

    def start_task(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _housekeeping(self) -> None:
        """Timeouts, memory, idle workers and log flushing, a few times a second."""
        last_flush = last_cpu = time.monotonic()
        while not self._closed:
            await asyncio.sleep(self.poll_interval)
            now = time.monotonic()
            try:
                for fp in list(self._pools.values()):
                    fp.housekeep(now)
                if now - last_cpu >= CPU_SAMPLE_S:
                    self.measure_cpu()
                    last_cpu = now
                if self.starved:  # idle workers may have become old enough to give way
                    self.kick()
                if now - last_flush >= 0.2:
                    self.sink.flush()
                    last_flush = now
            except Exception:  # never let one bad round end the limits for good
                log.exception("lambda pool housekeeping failed; continuing")

    def measure_cpu(self) -> None:
        """Note whether the workers keep every core busy (within half a core); when that
        ends, functions with requests waiting may start workers again."""
        used = self.cpu.cores_in_use((w.pid, w.spawned_at) for w in self.live if w.pid)
        was, self.cores_full = self.cores_full, used >= self.cores - 0.5
        if was and not self.cores_full:
            for fp in list(self._pools.values()):
                if fp.pending:
                    fp.dispatch()

    # -- introspection ----------------------------------------------------------------
    def component_name(self, function_name: str) -> str:
        """The task, function or feeder a name invoked so far resolves to (else the name)."""
        fp = self._by_ref.get(function_name)
        return fp.spec.name if fp else function_name

    def worker_pids(self, function_name: str) -> list[int]:
        """PIDs of the live workers of a function (for tests and `cirro` diagnostics)."""
        fp = self._by_ref.get(function_name) or self._pools.get(function_name)
        return [w.pid for w in fp.workers if w.pid] if fp else []

    def pipe_depths(self, function_name: str) -> list[int]:
        """How many requests sit in each live worker's pipe (the running one included)."""
        fp = self._by_ref.get(function_name) or self._pools.get(function_name)
        return [len(w.inflight) for w in fp.workers] if fp else []

    def busy(self) -> tuple[int, int]:
        """(workers running an invocation, live workers): `cirro serve`'s status file."""
        alive = [w for w in self.live if w.alive]
        return sum(1 for w in alive if w.inflight), len(alive)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def worker_count(self) -> int:
        return self._count

    def flush_logs(self) -> None:
        self.sink.flush()

    async def close(self, timeout: float = 5.0) -> None:
        """Stop every worker (gracefully, then by force), fail what is still queued, flush logs."""
        if self._closed:
            return
        self._closed = True
        if self._janitor is not None:
            self._janitor.cancel()
        # every worker not yet reaped, also those already killed (a timeout, memory): the
        # loop must see each one exit, or it warns about processes it can no longer wait for
        workers = list(self.live)
        for fp in self._pools.values():
            while fp.pending:
                fp.pending.popleft().fail(runtime_failure(EXIT_ERROR, "the lambda pool closed"))
        self.peaks.note_all(w for w in workers if w.alive)
        for w in workers:
            w.stop()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        deadline = time.monotonic() + timeout
        while any(not w._finished for w in workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        stuck = [w for w in workers if not w._finished and w.transport is not None]
        for w in stuck:
            w.kill_group()
        # let the loop see them exit (else it warns later that it can no longer wait for them)
        deadline = time.monotonic() + 1.0
        while any(not w._exited for w in stuck) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for w in stuck:
            w._finish()
        self.sink.flush()
        self.peaks.save()
