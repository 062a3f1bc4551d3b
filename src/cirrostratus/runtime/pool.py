"""Warm Lambda execution environments: a pool of worker processes per function.

Like Lambda, a function keeps execution environments warm and reuses them: each worker
imports the handler once and then serves many invocations. Unlike Lambda, requests are
pipelined — up to `depth` are in a worker's pipe at once — so a worker never waits for the
parent between invocations. Workers start lazily, at most `reserved_concurrency` per
function and `max_workers` in all; idle ones stop after `idle_timeout` seconds.

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
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.runtime.errors import (
    EXIT_ERROR,
    OUT_OF_MEMORY,
    TIMEOUT,
    TOO_MANY_REQUESTS,
    TaskFailed,
    runtime_failure,
)
from cirrostratus.runtime.logs import LogSink
from cirrostratus.runtime.protocol import FrameBuffer, encode
from cirrostratus.runtime.spec import LambdaSpec

log = logging.getLogger(__name__)

SpecLookup = Callable[[str], LambdaSpec | None] | Mapping[str, LambdaSpec]

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_SIGNAL_TEXT = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
}


def exit_description(code: int | None) -> str:
    """Lambda's wording: `exit status 3`, `signal: killed`, `signal: segmentation fault`."""
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            sig = signal.Signals(-code)
        except ValueError:
            return f"signal: {-code}"
        return f"signal: {_SIGNAL_TEXT.get(sig, sig.name.lower())}"
    return f"exit status {code}"


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE / 1048576
    except (OSError, IndexError, ValueError):
        return 0.0


class _Request:
    __slots__ = ("execution_id", "frame", "future", "ident", "request_id")

    def __init__(
        self,
        ident: int,
        request_id: str,
        execution_id: str | None,
        frame: bytes,
        future: asyncio.Future[Any],
    ) -> None:
        self.ident = ident
        self.request_id = request_id
        self.execution_id = execution_id
        self.frame = frame
        self.future = future

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


class _Worker(asyncio.SubprocessProtocol):
    """One worker process and the requests in its pipe, oldest (running) first."""

    def __init__(self, fp: _FunctionPool) -> None:
        self.fp = fp
        self.inflight: deque[_Request] = deque()
        self.frames = FrameBuffer()
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.prebuffer: list[bytes] = []
        self.spawned_at = time.monotonic()
        self.head_started = self.spawned_at
        self.last_used = self.spawned_at
        self.ready = False
        self.alive = True
        self._exited = False
        self._stdout_closed = False
        self._finished = False
        self._stderr_tail = b""
        fixed = fp.spec.workdir
        if fixed is not None:
            fixed.mkdir(parents=True, exist_ok=True)
        self._own_workdir = fixed is None
        self.workdir = fixed or Path(tempfile.mkdtemp(prefix=f"cirro-{fp.safe_name}-"))
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.pid = 0

    # -- process side -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport
        self.pid = transport.get_pid()
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        self.stdin = stdin
        spec = self.fp.spec
        init = {
            "function": spec.name,
            "handler": spec.handler,
            "directory": str(spec.directory),
            "timeout_s": spec.timeout_s,
            "memory_mb": spec.memory_mb,
            "arn": spec.arn,
            "log_stream": self.log_stream,
            "task_kwargs": dict(spec.task_kwargs),
        }
        stdin.write(encode(init) + b"".join(self.prebuffer))
        self.prebuffer.clear()

    def send(self, req: _Request) -> None:
        if not self.inflight:
            self.head_started = time.monotonic()
        self.inflight.append(req)
        if self.stdin is None:
            self.prebuffer.append(req.frame)
        else:
            self.stdin.write(req.frame)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            for msg in self.frames.feed(data):
                self._answer(msg)
            self.fp.dispatch()
            if not self.inflight and self.fp.pool.starved:
                self.fp.pool.kick()
        else:
            self._stderr(data)

    def _answer(self, msg: list[Any]) -> None:
        ident, ok, result, logs = msg
        now = time.monotonic()
        if ident == 0:  # ready: the handler is imported
            self.ready = True
            self.head_started = now
            if logs:
                self.fp.pool.sink.add(self.fp.spec.name, None, None, logs)
            return
        if not self.inflight or self.inflight[0].ident != ident:
            return  # the request was already failed (timeout/memory) and requeued
        req = self.inflight.popleft()
        self.head_started = now
        self.last_used = now
        if logs:
            self.fp.pool.sink.add(self.fp.spec.name, req.request_id, req.execution_id, logs)
        if req.future.done():
            return
        if ok:
            req.future.set_result(result)
        else:
            error = result.get("errorType") or "Unknown" if isinstance(result, dict) else "Unknown"
            req.future.set_exception(TaskFailed(error, orjson.dumps(result).decode()))

    def _stderr(self, data: bytes) -> None:
        data = self._stderr_tail + data
        *lines, self._stderr_tail = data.split(b"\n")
        if not lines:
            return
        head = self.inflight[0] if self.inflight else None
        now = time.time()
        self.fp.pool.sink.add(
            self.fp.spec.name,
            head.request_id if head else None,
            head.execution_id if head else None,
            [[now, "stderr", line.decode("utf-8", "replace")] for line in lines],
        )

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._stdout_closed = True
            self._maybe_finish()

    def process_exited(self) -> None:
        self._exited = True
        self._maybe_finish()
        if not self._finished:  # a forked child still holds our pipe: do not wait for it
            asyncio.get_running_loop().call_later(0.5, self._finish)

    def _maybe_finish(self) -> None:
        if self._exited and self._stdout_closed:
            self._finish()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._stderr_tail:
            self._stderr(b"\n")
        code = self.transport.get_returncode() if self.transport else None
        self.fp.remove(self)
        if self.inflight:
            what = exit_description(code)
            for req in self.inflight:
                req.fail(
                    runtime_failure(
                        EXIT_ERROR,
                        f"RequestId: {req.request_id} Error: Runtime exited with error: {what}",
                    )
                )
            self.inflight.clear()
        if self.transport is not None:
            self.transport.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.fp.dispatch()

    # -- control ------------------------------------------------------------------------
    def kill(self, error: str, message: str) -> None:
        """Fail the running request with `error`, requeue the ones behind it, kill the process."""
        if not self.alive:
            return
        self.fp.remove(self)
        if self.inflight:
            head = self.inflight.popleft()
            head.fail(runtime_failure(error, f"RequestId: {head.request_id} Error: {message}"))
            self.fp.requeue(self.inflight)
            self.inflight.clear()
        if self.transport is not None:
            with contextlib.suppress(ProcessLookupError):
                self.transport.kill()
        self.fp.dispatch()

    def stop(self) -> None:
        """Let the worker finish what it has and exit (its stdin closes)."""
        self.fp.remove(self)
        if self.stdin is not None:
            self.stdin.close()
        elif self.transport is None:
            self._finish()


class _FunctionPool:
    """The workers and the queue of one function."""

    def __init__(self, pool: LambdaPool, spec: LambdaSpec) -> None:
        self.pool = pool
        self.spec = spec
        self.safe_name = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec.name)
        self.workers: list[_Worker] = []
        self.pending: deque[_Request] = deque()
        rc = spec.reserved_concurrency
        self.limit = max(1, rc) if rc is not None else pool.max_workers

    def dispatch(self) -> None:
        """Hand pending requests to workers: an idle one, else a new one, else the least busy.

        At most one worker of a function starts at a time: a burst pipelines onto the
        starting worker instead of paying a cold start (an import) per request, which on a
        small machine costs more CPU than it saves.
        """
        pending = self.pending
        depth = self.pool.depth
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
                can_grow = not starting and len(self.workers) < self.limit
                if can_grow and self.pool.reserve(self):
                    target = self.spawn()
                elif target is None:
                    if can_grow:
                        self.pool.starved.add(self)  # waits for a slot elsewhere
                    return
            target.send(pending.popleft())

    def requeue(self, reqs: deque[_Request]) -> None:
        self.pending.extendleft(reversed(reqs))

    def spawn(self) -> _Worker:
        worker = _Worker(self)
        self.workers.append(worker)
        env = self.spec.worker_environment(worker.workdir, worker.log_stream)
        self.pool.start_task(self._start(worker, env))
        return worker

    async def _start(self, worker: _Worker, env: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.subprocess_exec(
                lambda: worker,
                sys.executable,
                "-m",
                "cirrostratus.runtime.worker",
                env=env,
                cwd=worker.workdir,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
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

    def remove(self, worker: _Worker) -> None:
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
                    used = _rss_mb(w.pid)
                    if used > spec.memory_mb:
                        w.kill(
                            OUT_OF_MEMORY,
                            f"Runtime exited with error: memory used ({used:.0f} MB) exceeded "
                            f"the function's memorySize ({spec.memory_mb} MB); the worker was killed",
                        )
            elif now - w.last_used > self.pool.idle_timeout:
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
    ) -> None:
        self._lookup: Callable[[str], LambdaSpec | None] = (
            specs.get if isinstance(specs, Mapping) else specs
        )
        self.sink = LogSink(logs_dir)
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
        self.starved: set[_FunctionPool] = set()
        self._kick_scheduled = False

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
        req = _Request(self._seq, rid, execution_id, frame, future)
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
        spec = self._lookup(function_name)
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
    def reserve(self, asking: _FunctionPool) -> bool:
        """Take a worker slot; at the global cap, stop the longest-idle worker elsewhere."""
        if self._count >= self.max_workers:
            idle = [
                w
                for fp in self._pools.values()
                if fp is not asking
                for w in fp.workers
                if not w.inflight
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
        last_flush = time.monotonic()
        while not self._closed:
            await asyncio.sleep(self.poll_interval)
            now = time.monotonic()
            try:
                for fp in list(self._pools.values()):
                    fp.housekeep(now)
                if now - last_flush >= 0.2:
                    self.sink.flush()
                    last_flush = now
            except Exception:  # never let one bad round end the limits for good
                log.exception("lambda pool housekeeping failed; continuing")

    # -- introspection ----------------------------------------------------------------
    def worker_pids(self, function_name: str) -> list[int]:
        """PIDs of the live workers of a function (for tests and `cirro` diagnostics)."""
        fp = self._by_ref.get(function_name) or self._pools.get(function_name)
        return [w.pid for w in fp.workers if w.pid] if fp else []

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
        workers = [w for fp in self._pools.values() for w in fp.workers]
        for fp in self._pools.values():
            while fp.pending:
                fp.pending.popleft().fail(runtime_failure(EXIT_ERROR, "the lambda pool closed"))
        for w in workers:
            w.stop()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        deadline = time.monotonic() + timeout
        while any(not w._finished for w in workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for w in workers:
            if not w._finished and w.transport is not None:
                with contextlib.suppress(ProcessLookupError):
                    w.transport.kill()
                w._finish()
        self.sink.flush()
