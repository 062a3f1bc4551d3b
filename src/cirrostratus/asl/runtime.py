"""Per-execution runtime: the run record, scopes, the state loop and shared I/O helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from cirrostratus.asl.clock import Clock, SystemClock
from cirrostratus.asl.context import Invoker
from cirrostratus.asl.errors import DATA_LIMIT_EXCEEDED, RUNTIME, StatesError
from cirrostratus.asl.history import HistoryEvent
from cirrostratus.asl.paths import PathMissing, parse_path
from cirrostratus.asl.templates import preview
from cirrostratus.asl.timeutil import format_timestamp

if TYPE_CHECKING:
    from cirrostratus.asl.states import State

_new_event = tuple.__new__  # builds a HistoryEvent without NamedTuple's slower __new__
DATA_LIMIT = 256 * 1024
SYNC_TRANSITION_LIMIT = 25_000  # AWS caps an execution's history at 25,000 events
YIELD_EVERY = 1_000


class Run:
    """Everything one execution shares across its states."""

    __slots__ = (
        "abort_reason",
        "aborted",
        "clock",
        "events",
        "exec_ctx",
        "execution_id",
        "input",
        "invoker",
        "name",
        "now",
        "sm_ctx",
        "start",
        "strict",
        "warnings",
    )

    def __init__(
        self,
        *,
        clock: Clock,
        invoker: Invoker | None,
        history: bool,
        strict: bool,
        execution_id: str,
        name: str,
        start: datetime,
        input: Any,
        role_arn: str,
        sm_ctx: dict[str, Any],
    ) -> None:
        self.clock = clock
        # SystemClock.now through a C-level partial: every event reads the time
        self.now: Callable[[], datetime] = (
            partial(datetime.now, UTC) if type(clock) is SystemClock else clock.now
        )
        self.input = input
        self.exec_ctx: dict[str, Any] = {"RoleArn": role_arn}  # completed on first use
        self.invoker = invoker
        self.events: list[HistoryEvent] | None = [] if history else None
        self.strict = strict
        self.execution_id = execution_id
        self.name = name
        self.start = start
        self.sm_ctx = sm_ctx
        self.warnings: list[str] = []
        self.aborted = False
        self.abort_reason: tuple[str, str] = ("States.Aborted", "the execution was aborted")

    def emit(
        self, type_: str, state: str | None, path: str | None, details: dict[str, Any] | None
    ) -> None:
        events = self.events
        if events is not None:
            events.append(
                _new_event(HistoryEvent, (len(events) + 1, type_, self.now(), state, path, details))
            )

    def check_size(self, value: Any, path: str, what: str) -> None:
        """Warn (or, strict, fail with States.DataLimitExceeded) past AWS's 256 KiB limit."""
        try:
            size = len(orjson.dumps(value))
        except TypeError:
            size = len(json.dumps(value, default=str).encode())
        if size <= DATA_LIMIT:
            return
        message = (
            f"the {what} of state '{path}' is {size} bytes, over the 256 KiB Step Functions "
            "allows; pass large data by reference (a URL) instead"
        )
        if self.strict:
            raise StatesError(DATA_LIMIT_EXCEEDED, message)
        self.warnings.append(message)
        self.emit(
            "DataLimitWarning", path.rsplit("/", 1)[-1], path, {"message": message, "bytes": size}
        )

    def context(
        self,
        scope: Scope,
        state: str,
        entered: datetime,
        retry_count: int = 0,
        token: str | None = None,
    ) -> dict[str, Any]:
        """The context object (`$$`) as a state sees it."""
        if "Id" not in self.exec_ctx:
            self.exec_ctx.update(
                Id=self.execution_id,
                Input=self.input,
                Name=self.name,
                StartTime=format_timestamp(self.start),
            )
        ctx: dict[str, Any] = {
            "Execution": self.exec_ctx,
            "State": {
                "EnteredTime": format_timestamp(entered),
                "Name": state,
                "RetryCount": retry_count,
            },
            "StateMachine": self.sm_ctx,
        }
        if scope.item is not None:
            ctx["Map"] = {"Item": {"Index": scope.item[0], "Value": scope.item[1]}}
        if token is not None:
            ctx["Task"] = {"Token": token}
        return ctx


class Scope:
    """Where a state runs: top level, a Map iteration or a Parallel branch."""

    __slots__ = ("item", "prefix")

    def __init__(self, prefix: str = "", item: tuple[int, Any] | None = None) -> None:
        self.prefix = prefix
        self.item = item


TOP = Scope()


async def run_machine(start: State, run: Run, scope: Scope, data: Any) -> Any:
    """Walk states from `start` until one ends the machine; returns the final output."""
    state: State | None = start
    steps = 0
    while state is not None:
        try:
            if state.sync:
                data, state = state.step(run, scope, data)
            else:
                data, state = await state.astep(run, scope, data)
            steps += 1
            if steps >= YIELD_EVERY:
                # states that never suspend (Pass, Choice, a Catch looping back to a Task whose
                # invoker returns at once) would starve the loop: let abort() and timeouts in
                steps = 0
                await asyncio.sleep(0)
        except StatesError as err:
            if err.state is None and state is not None:
                err.state = scope.prefix + state.name
            raise
    return data


def run_machine_sync(start: State, run: Run, scope: Scope, data: Any) -> Any:
    """The same walk for machines made only of synchronous states (no awaits at all)."""
    state: State | None = start
    steps = 0
    while state is not None:
        try:
            data, state = state.step(run, scope, data)
        except StatesError as err:
            if err.state is None and state is not None:
                err.state = scope.prefix + state.name
            raise
        steps += 1
        if steps > SYNC_TRANSITION_LIMIT:
            raise StatesError(
                RUNTIME,
                f"more than {SYNC_TRANSITION_LIMIT} transitions without a Task or Wait: "
                "the states loop forever",
            )
    return data


IoGetter = Callable[[Any, "Run", "Scope"], Any]


def io_getter(spec: dict[str, Any], field: str, state: str) -> IoGetter | None:
    """InputPath/OutputPath-style accessor `(data, run, scope) -> value`.

    None means `$` (identity); null means `{}`; a `$$` path reads the context object.
    A path that selects nothing raises States.Runtime, as on AWS.
    """
    if field not in spec:
        return None
    text = spec[field]
    if text is None:
        return lambda data, run, scope: {}
    path = parse_path(text)
    if not path.keys and path.definite and not path.context:
        return None
    get = path.get

    def missing(data: Any) -> StatesError:
        return StatesError(
            RUNTIME,
            f"Invalid path '{text}' : No results for path: {text} in the input "
            f"'{preview(data)}' ({field})",
        )

    if path.context:

        def from_context(data: Any, run: Run, scope: Scope) -> Any:
            ctx = run.context(scope, state, run.clock.now())
            try:
                return get(ctx)
            except PathMissing:
                raise missing(ctx) from None

        return from_context

    def select(data: Any, run: Run, scope: Scope) -> Any:
        try:
            return get(data)
        except PathMissing:
            raise missing(data) from None

    return select
