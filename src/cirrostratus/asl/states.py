"""Compiled states: the shared base and the simple types (Pass, Choice, Wait, Succeed, Fail).

Each state is compiled once. A *sync* state runs in `step()` with no awaits, so chains of
Pass/Choice (and Map/Parallel over them) cost only plain function calls; the others run in
`astep()`. Both return `(output, next state or None)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cirrostratus.asl.choice import compile_rule
from cirrostratus.asl.errors import (
    NO_CHOICE_MATCHED,
    RESULT_PATH_MATCH_FAILURE,
    RUNTIME,
    StatesError,
)
from cirrostratus.asl.intrinsics import is_intrinsic, parse_intrinsic
from cirrostratus.asl.paths import PathMissing, ResultPathMismatch, parse_path, set_at
from cirrostratus.asl.runtime import Run, Scope, io_getter
from cirrostratus.asl.templates import compile_literal, compile_template, preview, uses_context
from cirrostratus.asl.timeutil import parse_timestamp

ValueReader = Callable[[Any, Any], Any]


class State:
    """Fields and I/O processing every state type shares."""

    type = "State"
    sync = True

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.spec = spec
        self.next_name: str | None = spec.get("Next")
        self.next: State | None = None
        self.input_get = io_getter(spec, "InputPath", name)
        self.output_get = io_getter(spec, "OutputPath", name)
        self.entered_type = f"{self.type}StateEntered"
        self.exited_type = f"{self.type}StateExited"
        self.discard_result = "ResultPath" in spec and spec["ResultPath"] is None
        self.result_keys = (
            () if self.discard_result else reference_keys(spec.get("ResultPath", "$"))
        )

    def step(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        raise NotImplementedError  # pragma: no cover

    async def astep(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        return self.step(run, scope, raw)

    def merge(self, raw: Any, result: Any) -> Any:
        """Apply ResultPath: place the result into the raw input (or replace / discard)."""
        if self.discard_result:
            return raw
        keys = self.result_keys
        if not keys:
            return result
        try:
            return set_at(raw, keys, result)
        except ResultPathMismatch as exc:
            raise StatesError(
                RESULT_PATH_MATCH_FAILURE,
                f"Unable to apply ResultPath '{self.spec.get('ResultPath')}' to the input "
                f"'{preview(raw)}': {exc}",
            ) from None

    def path_in(self, scope: Scope) -> str:
        return scope.prefix + self.name if scope.prefix else self.name


def reference_keys(text: str) -> tuple[str | int, ...]:
    return parse_path(text).keys


def value_reader(text: str, field: str) -> ValueReader:
    """A reader for `*Path` fields: a reference path, `$$` path or intrinsic; States.Runtime if missing."""
    if is_intrinsic(text):
        evaluate = parse_intrinsic(text)

        def call(data: Any, ctx: Any) -> Any:
            try:
                return evaluate(data, ctx)
            except PathMissing as exc:
                raise StatesError(RUNTIME, f"Invalid path '{exc.path}' in {field}") from None

        return call
    path = parse_path(text)
    get = path.get

    def read(data: Any, ctx: Any) -> Any:
        try:
            return get(ctx if path.context else data)
        except PathMissing:
            raise StatesError(
                RUNTIME,
                f"Invalid path '{text}' for field '{field}': no such value in '{preview(data)}'",
            ) from None

    return read


class Pass(State):
    type = "Pass"

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        super().__init__(name, spec)
        self.result = compile_literal(spec["Result"]) if "Result" in spec else None
        params = spec.get("Parameters")
        self.params = compile_template(params) if "Parameters" in spec else None
        self.params_ctx = uses_context(params)
        self.produces = self.result is not None or self.params is not None

    def step(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        path = scope.prefix + self.name if scope.prefix else self.name
        if run.events is not None:
            run.emit(self.entered_type, self.name, path, {"input": raw})
        data = raw if self.input_get is None else self.input_get(raw, run, scope)
        if self.result is not None:
            result = self.result(data, None)
        elif self.params is not None:
            ctx = run.context(scope, self.name, run.clock.now()) if self.params_ctx else None
            result = self.params(data, ctx)
        else:
            result = data
        out = self.merge(raw, result)
        if self.output_get is not None:
            out = self.output_get(out, run, scope)
        if self.produces:
            run.check_size(out, path, "output")
        if run.events is not None:
            run.emit(self.exited_type, self.name, path, {"output": out})
        return out, self.next


class Succeed(State):
    type = "Succeed"

    def step(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        path = scope.prefix + self.name if scope.prefix else self.name
        if run.events is not None:
            run.emit(self.entered_type, self.name, path, {"input": raw})
        out = raw if self.input_get is None else self.input_get(raw, run, scope)
        if self.output_get is not None:
            out = self.output_get(out, run, scope)
        if run.events is not None:
            run.emit(self.exited_type, self.name, path, {"output": out})
        return out, None


class Fail(State):
    type = "Fail"

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        super().__init__(name, spec)
        self.error = spec.get("Error")
        self.cause = spec.get("Cause")
        self.error_path = (
            value_reader(spec["ErrorPath"], "ErrorPath") if "ErrorPath" in spec else None
        )
        self.cause_path = (
            value_reader(spec["CausePath"], "CausePath") if "CausePath" in spec else None
        )
        self.needs_ctx = "$$" in str(spec.get("ErrorPath", "")) + str(spec.get("CausePath", ""))

    def step(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        path = self.path_in(scope)
        run.emit(self.entered_type, self.name, path, {"input": raw})
        ctx = run.context(scope, self.name, run.clock.now()) if self.needs_ctx else None
        error = self.error if self.error_path is None else self.error_path(raw, ctx)
        cause = self.cause if self.cause_path is None else self.cause_path(raw, ctx)
        for field, value in (("ErrorPath", error), ("CausePath", cause)):
            if value is not None and not isinstance(value, str):
                raise StatesError(
                    RUNTIME, f"{field} of state '{path}' must select a string, got {preview(value)}"
                )
        # No Error: the execution's error is empty, as on AWS; no Cause: a Catch sees "".
        err = StatesError(error or "", cause, missing_cause="")
        err.state = path
        raise err


class Choice(State):
    type = "Choice"

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        super().__init__(name, spec)
        self.rules = [(compile_rule(rule), rule["Next"]) for rule in spec["Choices"]]
        self.targets: list[tuple[Callable[[Any, Any], bool], State]] = []
        self.default_name: str | None = spec.get("Default")
        self.default: State | None = None
        self.needs_ctx = "$$" in repr(spec["Choices"])

    def step(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        path = scope.prefix + self.name if scope.prefix else self.name
        if run.events is not None:
            run.emit(self.entered_type, self.name, path, {"input": raw})
        data = raw if self.input_get is None else self.input_get(raw, run, scope)
        ctx = run.context(scope, self.name, run.clock.now()) if self.needs_ctx else None
        chosen = self.default
        for predicate, target in self.targets:
            if predicate(data, ctx):
                chosen = target
                break
        if chosen is None:
            raise StatesError(
                NO_CHOICE_MATCHED,
                f"No Choice Rule matched and no Default is set in state '{path}' for the input "
                f"'{preview(data)}'",
            )
        out = data if self.output_get is None else self.output_get(data, run, scope)
        if run.events is not None:
            run.emit(self.exited_type, self.name, path, {"output": out})
        return out, chosen


class Wait(State):
    type = "Wait"
    sync = False

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        super().__init__(name, spec)
        self.seconds = spec.get("Seconds")
        self.timestamp = parse_timestamp(spec["Timestamp"]) if "Timestamp" in spec else None
        self.seconds_path = (
            value_reader(spec["SecondsPath"], "SecondsPath") if "SecondsPath" in spec else None
        )
        self.timestamp_path = (
            value_reader(spec["TimestampPath"], "TimestampPath")
            if "TimestampPath" in spec
            else None
        )
        self.needs_ctx = "$$" in str(spec.get("SecondsPath", "")) + str(
            spec.get("TimestampPath", "")
        )

    def step(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        raise AssertionError("Wait states are asynchronous")  # pragma: no cover

    async def astep(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        path = self.path_in(scope)
        run.emit(self.entered_type, self.name, path, {"input": raw})
        data = raw if self.input_get is None else self.input_get(raw, run, scope)
        now = run.clock.now()
        ctx = run.context(scope, self.name, now) if self.needs_ctx else None
        delay = self._delay(data, ctx, now, path)
        await run.clock.sleep(delay)
        out = data if self.output_get is None else self.output_get(data, run, scope)
        run.emit(self.exited_type, self.name, path, {"output": out})
        return out, self.next

    def _delay(self, data: Any, ctx: Any, now: datetime, path: str) -> float:
        if self.seconds is not None:
            return float(self.seconds)
        if self.seconds_path is not None:
            value = self.seconds_path(data, ctx)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise StatesError(
                    RUNTIME,
                    f"SecondsPath of state '{path}' must select a non-negative number, got {preview(value)}",
                )
            return float(value)
        moment = self.timestamp
        if self.timestamp_path is not None:
            value = self.timestamp_path(data, ctx)
            moment = parse_timestamp(value)
            if moment is None:
                raise StatesError(
                    RUNTIME,
                    f"TimestampPath of state '{path}' must select an RFC 3339 timestamp, got {preview(value)}",
                )
        assert moment is not None
        return max((moment - now).total_seconds(), 0.0)
