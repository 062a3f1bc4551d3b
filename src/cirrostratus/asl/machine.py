"""Compiling a definition into a StateMachine, and running executions of it."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from cirrostratus.asl.check import check_definition
from cirrostratus.asl.clock import Clock, SystemClock
from cirrostratus.asl.concurrent import Map, Parallel
from cirrostratus.asl.context import ExecutionResult, Invoker
from cirrostratus.asl.errors import TIMEOUT, AslDefinitionError, AslProblem, StatesError
from cirrostratus.asl.guarded import Guarded
from cirrostratus.asl.history import HistoryEvent
from cirrostratus.asl.runtime import TOP, Run, run_machine
from cirrostratus.asl.states import Choice, Fail, Pass, State, Succeed, Wait
from cirrostratus.asl.task import Task

logger = logging.getLogger(__name__)

ACCOUNT = "000000000000"
REGION = "local"
DEFAULT_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/cirrostratus-local"

_SIMPLE: dict[str, type[State]] = {
    "Pass": Pass,
    "Task": Task,
    "Choice": Choice,
    "Wait": Wait,
    "Succeed": Succeed,
    "Fail": Fail,
}


class Machine:
    """A compiled set of states: the top level, a Parallel branch or a Map iterator."""

    __slots__ = ("start", "states", "sync")

    def __init__(self, definition: dict[str, Any], where: str) -> None:
        self.states: dict[str, State] = {}
        for name, spec in definition["States"].items():
            kind = spec["Type"]
            if kind in ("Map", "Parallel"):
                cls = Map if kind == "Map" else Parallel
                self.states[name] = cls(name, spec, Machine)
            else:
                self.states[name] = _SIMPLE[kind](name, spec)
        for state in self.states.values():
            self._link(state)
        self.start = self.states[definition["StartAt"]]
        self.sync = all(state.sync for state in self.states.values())

    def _link(self, state: State) -> None:
        if state.next_name is not None:
            state.next = self.states[state.next_name]
        if isinstance(state, Choice):
            state.targets = [(pred, self.states[target]) for pred, target in state.rules]
            if state.default_name is not None:
                state.default = self.states[state.default_name]
        if isinstance(state, Guarded):
            for catcher in state.catchers:
                catcher.next = self.states[catcher.next_name]


def compile_definition(
    definition: Mapping[str, Any], name: str = "StateMachine", *, strict: bool = False
) -> StateMachine:
    """Check and compile a definition once; raises AslDefinitionError listing every problem.

    `strict=True` makes a state input or output over 256 KiB fail with
    States.DataLimitExceeded instead of a warning.
    """
    definition = dict(definition)
    problems = check_definition(definition)
    if any(p.severity == "error" for p in problems):
        raise AslDefinitionError(problems)
    try:
        machine = Machine(definition, "")
    except (ValueError, KeyError, TypeError) as exc:  # check_definition should catch these first
        raise AslDefinitionError(
            [*problems, AslProblem(None, None, f"cannot compile: {exc}")]
        ) from exc
    return StateMachine(name, definition, machine, problems, strict)


class StateMachine:
    """A compiled definition; `execute()` or `start()` it as often as you like, concurrently."""

    def __init__(
        self,
        name: str,
        definition: dict[str, Any],
        machine: Machine,
        problems: list[AslProblem],
        strict: bool,
    ) -> None:
        self.name = name
        self.definition = definition
        self.problems = problems  # warnings only; errors refuse compilation
        self.strict = strict
        self.timeout_seconds: float | None = definition.get("TimeoutSeconds")
        self.arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        self._machine = machine
        self._sm_ctx = {"Id": self.arn, "Name": name}

    @property
    def states(self) -> dict[str, State]:
        return self._machine.states

    async def execute(
        self,
        input: Any = None,
        *,
        invoker: Invoker | None = None,
        clock: Clock | None = None,
        name: str | None = None,
        execution_id: str | None = None,
        history: bool = True,
        strict: bool | None = None,
        role_arn: str = DEFAULT_ROLE_ARN,
    ) -> ExecutionResult:
        """Run one execution to its end in the current task and return its result.

        Executions never raise for workflow failures: look at `result.status`. Cancelling the
        awaiting task cancels the execution (use `start()` + `abort()` for an ABORTED result).
        """
        run = self._new_run(input, invoker, clock, name, execution_id, history, strict, role_arn)
        return await self._execute(run, input)

    def start(
        self,
        input: Any = None,
        *,
        invoker: Invoker | None = None,
        clock: Clock | None = None,
        name: str | None = None,
        execution_id: str | None = None,
        history: bool = True,
        strict: bool | None = None,
        role_arn: str = DEFAULT_ROLE_ARN,
    ) -> Execution:
        """Start an execution as an asyncio task (needs a running loop); see `Execution`."""
        run = self._new_run(input, invoker, clock, name, execution_id, history, strict, role_arn)
        return Execution(run, asyncio.ensure_future(self._execute(run, input)))

    def _new_run(
        self,
        input: Any,
        invoker: Invoker | None,
        clock: Clock | None,
        name: str | None,
        execution_id: str | None,
        history: bool,
        strict: bool | None,
        role_arn: str,
    ) -> Run:
        clock = clock or _SYSTEM_CLOCK
        name = name or str(uuid.uuid4())
        execution_id = (
            execution_id or f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{self.name}:{name}"
        )
        return Run(
            clock=clock,
            invoker=invoker,
            history=history,
            strict=self.strict if strict is None else strict,
            execution_id=execution_id,
            name=name,
            start=clock.now(),
            input=input,
            role_arn=role_arn,
            sm_ctx=self._sm_ctx,
        )

    async def _execute(self, run: Run, input: Any) -> ExecutionResult:
        if run.events is not None:
            run.emit("ExecutionStarted", None, None, {"input": input, "name": run.name})
        status, output, error, cause, failed = "SUCCEEDED", None, None, None, None
        try:
            run.check_size(input, self._machine.start.name, "input")
            if self.timeout_seconds is None:
                output = await run_machine(self._machine.start, run, TOP, input)
            else:
                output = await self._with_timeout(run, input, float(self.timeout_seconds))
        except StatesError as err:
            status, error, cause, failed = "FAILED", err.error or None, err.cause, err.state
        except _TimedOut:
            status, error = "TIMED_OUT", TIMEOUT
            cause = f"the execution did not finish within {self.timeout_seconds} seconds"
        except asyncio.CancelledError:
            if not run.aborted:
                raise
            status, (error, cause) = "ABORTED", run.abort_reason
        except Exception as exc:  # a bug in here must not take the caller down with it
            logger.exception("internal error in execution %s", run.execution_id)
            status, error = "FAILED", "States.Runtime"
            cause = f"internal error in the ASL interpreter: {type(exc).__name__}: {exc}"
        stop = run.clock.now()
        if run.events is not None:
            if status == "SUCCEEDED":
                run.emit("ExecutionSucceeded", None, None, {"output": output})
            else:
                kind = {"FAILED": "Failed", "TIMED_OUT": "TimedOut", "ABORTED": "Aborted"}[status]
                state = failed.rsplit("/", 1)[-1] if failed else None
                run.emit(f"Execution{kind}", state, failed, {"error": error, "cause": cause})
        return ExecutionResult(
            status=status,
            output=output,
            error=error,
            cause=cause,
            history=run.events if run.events is not None else [],
            start=run.start,
            stop=stop,
            execution_id=run.execution_id,
            name=run.name,
            failed_state=failed,
            warnings=run.warnings,
        )

    async def _with_timeout(self, run: Run, input: Any, timeout: float) -> Any:
        main = asyncio.ensure_future(run_machine(self._machine.start, run, TOP, input))
        timer = asyncio.ensure_future(run.clock.sleep(timeout))
        try:
            await asyncio.wait({main, timer}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            main.cancel()
            timer.cancel()
            await asyncio.wait({main})
            raise
        if main.done():
            timer.cancel()
            return main.result()
        main.cancel()
        await asyncio.wait({main})
        raise _TimedOut


class _TimedOut(Exception):
    pass


_SYSTEM_CLOCK = SystemClock()


class Execution:
    """A running execution: `abort()` it, or `await wait()` for its ExecutionResult."""

    def __init__(self, run: Run, task: asyncio.Future[ExecutionResult]) -> None:
        self._run = run
        self._task = task

    @property
    def execution_id(self) -> str:
        return self._run.execution_id

    @property
    def name(self) -> str:
        return self._run.name

    @property
    def history(self) -> list[HistoryEvent]:
        """Events so far (live; empty when history is off)."""
        return self._run.events if self._run.events is not None else []

    @property
    def done(self) -> bool:
        return self._task.done()

    def abort(self, error: str | None = None, cause: str | None = None) -> None:
        """Stop the execution: running tasks are cancelled and the status becomes ABORTED
        (with `error`/`cause` if given, as StopExecution takes them)."""
        if not self._task.done():
            self._run.aborted = True
            self._run.abort_reason = (
                error or "States.Aborted",
                cause if cause is not None else "the execution was aborted",
            )
            self._task.cancel()

    async def wait(self) -> ExecutionResult:
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if not (self._task.cancelled() and self._run.aborted):
                raise
        # aborted before it ever ran
        now = self._run.clock.now()
        error, cause = self._run.abort_reason
        self._run.emit("ExecutionAborted", None, None, {"error": error, "cause": cause})
        return ExecutionResult(
            status="ABORTED",
            output=None,
            error=error,
            cause=cause,
            history=self.history,
            start=self._run.start,
            stop=now,
            execution_id=self.execution_id,
            name=self.name,
        )
