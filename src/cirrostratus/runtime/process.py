"""One warm worker process and the requests in its pipe (the parent's side of the wire).

The worker answers requests in order, so the oldest request in flight is the one running:
its start time drives the timeout, its request id gets stray stderr output, and it is the
one a kill fails. Stdout carries answer frames; when the process ends, whatever is still in
flight fails with `Runtime.ExitError` naming the exit status or signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from cirrostratus.runtime.errors import EXIT_ERROR, TaskFailed, runtime_failure
from cirrostratus.runtime.logs import LineSplitter
from cirrostratus.runtime.protocol import FrameBuffer, encode

if TYPE_CHECKING:
    from cirrostratus.runtime.pool import _FunctionPool

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase
KILL_GRACE_S = 0.2
"""After a timeout or memory kill, how long the worker has to send its request's output."""
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


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE / 1048576
    except (OSError, IndexError, ValueError):
        return 0.0


class Request:
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


class Worker(asyncio.SubprocessProtocol):
    """One worker process and the requests in its pipe, oldest (running) first."""

    def __init__(self, fp: _FunctionPool) -> None:
        self.fp = fp
        self.inflight: deque[Request] = deque()
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
        self._stderr_lines = LineSplitter()
        self._dying: Request | None = None  # the request a kill failed, for its last output
        self._epitaph: list[list[Any]] = []  # and the line that says why
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
        self.fp.pool.children.add(self.pid, "lambda", [self.fp.spec.name])
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

    def send(self, req: Request) -> None:
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
        dying = self._dying
        if dying is not None and ident == dying.ident:  # its last words, after a kill
            self._bury(logs)
            return
        if not self.inflight or self.inflight[0].ident != ident:
            return  # the request was already failed (timeout/memory) and requeued
        req = self.inflight.popleft()
        self.fp.timed(now - self.head_started)
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

    def _bury(self, logs: list[Any] | None = None) -> None:
        """Log a killed request's last output, then why it was killed (Lambda's order)."""
        dying = self._dying
        if dying is None or not (logs or self._epitaph):
            return
        records = [*(logs or []), *self._epitaph]
        self._epitaph = []
        self.fp.pool.sink.add(self.fp.spec.name, dying.request_id, dying.execution_id, records)

    def _stderr(self, data: bytes) -> None:
        self._file(self._stderr_lines.feed(data))

    def _file(self, lines: list[bytes]) -> None:
        if not lines:
            return
        head = self.inflight[0] if self.inflight else self._dying
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
        self._file(self._stderr_lines.close())
        self._bury()
        code = self.transport.get_returncode() if self.transport else None
        self.fp.remove(self)
        self.fp.pool.live.discard(self)
        if self.inflight:
            what = exit_description(code)
            # a ready worker answers in order, so only the oldest request was running: the
            # ones behind it never started and go to another worker (as after a timeout).
            # A worker that died while importing fails them all (the import would again).
            if self.ready and not self.fp.pool.closed:
                failed = [self.inflight.popleft()]
                self.fp.requeue(self.inflight)
            else:
                failed = list(self.inflight)
            for req in failed:
                req.fail(
                    runtime_failure(
                        EXIT_ERROR,
                        f"RequestId: {req.request_id} Error: Runtime exited with error: {what}",
                    )
                )
            self.inflight.clear()
        self.kill_group()  # what the worker started itself ends with it, as on Lambda
        self.fp.pool.children.remove(self.pid)
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
            self._dying = head
            self._epitaph = [
                [time.time(), "stderr", f"RequestId: {head.request_id} Error: {message}"]
            ]
        # SIGTERM first: the worker sends what the request printed so far (its log keeps it,
        # as Lambda's does); SIGKILL to the whole group follows after a short grace
        if self.pid and self._dying is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGTERM)
            asyncio.get_running_loop().call_later(KILL_GRACE_S, self.kill_group)
        else:
            self.kill_group()
        self.fp.dispatch()

    def kill_group(self) -> None:
        """SIGKILL the worker's process group: the worker and anything it started."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Let the worker finish what it has and exit (its stdin closes)."""
        self.fp.remove(self)
        if self.stdin is not None:
            self.stdin.close()
        elif self.transport is None:
            self._finish()
