"""The Task state: build parameters, call the injected invoker, enforce timeouts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from cirrostratus.asl.context import TaskContext
from cirrostratus.asl.errors import HEARTBEAT_TIMEOUT, RUNTIME, TIMEOUT, StatesError, TaskFailed
from cirrostratus.asl.guarded import Guarded
from cirrostratus.asl.runtime import Run, Scope
from cirrostratus.asl.states import value_reader
from cirrostratus.asl.templates import compile_template, preview, uses_context


class Task(Guarded):
    type = "Task"
    sync = False

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        super().__init__(name, spec)
        self.resource = spec["Resource"]
        self.params = compile_template(spec["Parameters"]) if "Parameters" in spec else None
        self.selector = (
            compile_template(spec["ResultSelector"]) if "ResultSelector" in spec else None
        )
        self.needs_ctx = uses_context(spec.get("Parameters")) or uses_context(
            spec.get("ResultSelector")
        )
        self.timeout = spec.get("TimeoutSeconds")
        self.heartbeat = spec.get("HeartbeatSeconds")
        self.timeout_path = (
            value_reader(spec["TimeoutSecondsPath"], "TimeoutSecondsPath")
            if "TimeoutSecondsPath" in spec
            else None
        )
        self.heartbeat_path = (
            value_reader(spec["HeartbeatSecondsPath"], "HeartbeatSecondsPath")
            if "HeartbeatSecondsPath" in spec
            else None
        )

    async def attempt(
        self, run: Run, scope: Scope, raw: Any, path: str, retry_count: int, entered: datetime
    ) -> Any:
        data = raw if self.input_get is None else self.input_get(raw, run, scope)
        token = uuid.uuid4().hex
        ctx = run.context(scope, self.name, entered, retry_count, token) if self.needs_ctx else None
        params = data
        if self.params is not None:
            params = self.params(data, ctx)
            run.check_size(params, path, "input")
        if ctx is None and (self.timeout_path or self.heartbeat_path):
            ctx = run.context(scope, self.name, entered, retry_count, token)
        timeout = self._seconds(
            self.timeout, self.timeout_path, data, ctx, "TimeoutSecondsPath", path
        )
        heartbeat = self._seconds(
            self.heartbeat, self.heartbeat_path, data, ctx, "HeartbeatSecondsPath", path
        )
        context = TaskContext(
            execution_id=run.execution_id,
            execution_name=run.name,
            state_name=self.name,
            entered_time=entered,
            retry_count=retry_count,
            task_token=token,
            timeout_seconds=timeout,
            heartbeat_seconds=heartbeat,
            state_path=path,
        )
        if run.events is not None:
            scheduled: dict[str, Any] = {"resource": self.resource, "parameters": params}
            if timeout is not None:
                scheduled["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                scheduled["heartbeatInSeconds"] = heartbeat
            run.emit("TaskScheduled", self.name, path, scheduled)
            run.emit("TaskStarted", self.name, path, None)
        result = await self._invoke(run, params, context, timeout, heartbeat, path)
        if self.selector is not None:
            result = self.selector(result, ctx)
        out = self.merge(raw, result)
        if self.output_get is not None:
            out = self.output_get(out, run, scope)
        run.check_size(out, path, "output")
        return out

    async def _invoke(
        self,
        run: Run,
        params: Any,
        context: TaskContext,
        timeout: float | None,
        heartbeat: float | None,
        path: str,
    ) -> Any:
        if run.invoker is None:
            raise StatesError(RUNTIME, f"no invoker was given to run Task state '{path}'")
        try:
            call = run.invoker(self.resource, params, context)
            if timeout is None and heartbeat is None:
                result = await call
            else:
                result = await _guard(run, call, context, timeout, heartbeat)
        except TaskFailed as exc:
            run.emit("TaskFailed", self.name, path, {"error": exc.error, "cause": exc.cause})
            raise StatesError(exc.error, exc.cause) from None
        except StatesError as exc:
            run.emit("TaskTimedOut", self.name, path, {"error": exc.error, "cause": exc.cause})
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error, cause = type(exc).__name__, str(exc)
            run.emit("TaskFailed", self.name, path, {"error": error, "cause": cause})
            raise StatesError(error, cause) from None
        if run.events is not None:
            run.emit("TaskSucceeded", self.name, path, {"output": result})
        return result

    def _seconds(
        self, fixed: Any, reader: Any, data: Any, ctx: Any, field: str, path: str
    ) -> float | None:
        if reader is None:
            return None if fixed is None else float(fixed)
        value = reader(data, ctx)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise StatesError(
                RUNTIME,
                f"{field} of state '{path}' must select a positive number, got {preview(value)}",
            )
        return float(value)


async def _guard(
    run: Run, call: Any, context: TaskContext, timeout: float | None, heartbeat: float | None
) -> Any:
    """Await `call`, failing with States.Timeout when it runs past `timeout` or goes
    `heartbeat` seconds without a heartbeat, on the run's clock."""
    clock = run.clock
    start = clock.now()
    last_beat: list[datetime] = [start]
    context._beat = lambda: last_beat.__setitem__(0, clock.now())

    async def watchdog() -> str:
        while True:
            now = clock.now()
            waits: list[tuple[float, str]] = []
            if timeout is not None:
                waits.append(((start - now).total_seconds() + timeout, TIMEOUT))
            if heartbeat is not None:
                waits.append(((last_beat[0] - now).total_seconds() + heartbeat, HEARTBEAT_TIMEOUT))
            wait, name = min(waits)
            if wait <= 0:
                return name
            await clock.sleep(wait)

    work = asyncio.ensure_future(call)
    dog = asyncio.ensure_future(watchdog())
    try:
        done, _ = await asyncio.wait({work, dog}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        work.cancel()
        dog.cancel()
        raise
    if work in done:
        dog.cancel()
        return work.result()
    work.cancel()
    await asyncio.wait({work})  # let it unwind; its outcome no longer matters
    name = dog.result()
    if name == TIMEOUT:
        raise StatesError(TIMEOUT, f"the task did not finish within {timeout:g} seconds")
    # Step Functions reports a missed heartbeat as States.Timeout (its history shows
    # TaskTimedOut with that error); States.HeartbeatTimeout only selects it in Retry/Catch.
    raise StatesError(TIMEOUT, f"no heartbeat for {heartbeat:g} seconds", also=HEARTBEAT_TIMEOUT)
