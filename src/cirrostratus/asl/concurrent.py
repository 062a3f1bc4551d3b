"""Parallel and Map: sub-machines run concurrently, or as a plain loop when they never await.

A branch or iterator made only of synchronous states (Pass, Choice, Succeed, Fail and nested
Map/Parallel over those) runs without creating asyncio tasks; anything that awaits runs as
tasks, at most MaxConcurrency at a time (0 = no limit). The first unhandled failure cancels
the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from cirrostratus.asl.errors import EXCEED_TOLERATED_FAILURE_THRESHOLD, RUNTIME, StatesError
from cirrostratus.asl.guarded import Guarded
from cirrostratus.asl.runtime import Run, Scope, io_getter, run_machine, run_machine_sync
from cirrostratus.asl.states import State, value_reader
from cirrostratus.asl.templates import compile_template, preview, uses_context


class SubMachine(Protocol):
    start: State
    sync: bool


CompileMachine = Callable[[dict[str, Any], str], SubMachine]


async def run_all(n: int, make: Callable[[int], Awaitable[None]], limit: int) -> None:
    """Run `make(0..n-1)` concurrently, `limit` at a time; fail fast and cancel the rest."""
    if n == 1:
        await make(0)
        return
    sem = asyncio.Semaphore(limit) if 0 < limit < n else None

    async def guarded(i: int) -> None:
        if sem is None:
            await make(i)
            return
        async with sem:
            await make(i)

    tasks = [asyncio.ensure_future(guarded(i)) for i in range(n)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failures = [_failure(t) for t in tasks if t.done()]
        first = next((exc for exc in failures if exc is not None), None)
        if first is not None:
            raise first
    finally:
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        for task in tasks:
            _failure(task)  # retrieve every outcome, so asyncio does not warn about it


def _failure(task: asyncio.Future[None]) -> BaseException | None:
    """The task's exception (marking it retrieved), or None if it succeeded or was cancelled."""
    return None if task.cancelled() else task.exception()


class Parallel(Guarded):
    type = "Parallel"

    def __init__(self, name: str, spec: dict[str, Any], compile_machine: CompileMachine) -> None:
        super().__init__(name, spec)
        self.branches = [
            compile_machine(branch, f"{name}.Branches[{i}]")
            for i, branch in enumerate(spec["Branches"])
        ]
        self.params = compile_template(spec["Parameters"]) if "Parameters" in spec else None
        self.selector = (
            compile_template(spec["ResultSelector"]) if "ResultSelector" in spec else None
        )
        self.needs_ctx = uses_context(spec.get("Parameters")) or uses_context(
            spec.get("ResultSelector")
        )
        self.sync = all(b.sync for b in self.branches) and not self.retriers

    def _prepare(
        self, run: Run, scope: Scope, raw: Any, path: str, retry_count: int
    ) -> tuple[Any, Any]:
        data = raw if self.input_get is None else self.input_get(raw, run, scope)
        ctx = (
            run.context(scope, self.name, run.clock.now(), retry_count) if self.needs_ctx else None
        )
        if self.params is not None:
            data = self.params(data, ctx)
        if run.events is not None:
            run.emit("ParallelStateStarted", self.name, path, {"branches": len(self.branches)})
        return data, ctx

    def _finish(
        self, run: Run, scope: Scope, raw: Any, results: list[Any], ctx: Any, path: str
    ) -> Any:
        if run.events is not None:
            run.emit("ParallelStateSucceeded", self.name, path, None)
        result: Any = results if self.selector is None else self.selector(results, ctx)
        out = self.merge(raw, result)
        if self.output_get is not None:
            out = self.output_get(out, run, scope)
        run.check_size(out, path, "output")
        return out

    def attempt_sync(self, run: Run, scope: Scope, raw: Any, path: str) -> Any:
        data, ctx = self._prepare(run, scope, raw, path, 0)
        try:
            results = [
                run_machine_sync(b.start, run, Scope(f"{path}/{i}/"), data)
                for i, b in enumerate(self.branches)
            ]
        except StatesError as err:
            run.emit(
                "ParallelStateFailed", self.name, path, {"error": err.error, "cause": err.cause}
            )
            raise
        return self._finish(run, scope, raw, results, ctx, path)

    async def attempt(
        self, run: Run, scope: Scope, raw: Any, path: str, retry_count: int, entered: datetime
    ) -> Any:
        data, ctx = self._prepare(run, scope, raw, path, retry_count)
        results: list[Any] = [None] * len(self.branches)

        async def branch(i: int) -> None:
            machine = self.branches[i]
            sub = Scope(f"{path}/{i}/")
            if machine.sync:
                results[i] = run_machine_sync(machine.start, run, sub, data)
            else:
                results[i] = await run_machine(machine.start, run, sub, data)

        try:
            await run_all(len(self.branches), branch, 0)
        except StatesError as err:
            run.emit(
                "ParallelStateFailed", self.name, path, {"error": err.error, "cause": err.cause}
            )
            raise
        except asyncio.CancelledError:
            run.emit("ParallelStateAborted", self.name, path, None)
            raise
        return self._finish(run, scope, raw, results, ctx, path)


class Map(Guarded):
    type = "Map"

    def __init__(self, name: str, spec: dict[str, Any], compile_machine: CompileMachine) -> None:
        super().__init__(name, spec)
        processor = spec.get("ItemProcessor", spec.get("Iterator"))
        assert isinstance(processor, dict)
        self.machine = compile_machine(processor, f"{name}.ItemProcessor")
        self.items_get = io_getter({"ItemsPath": spec.get("ItemsPath", "$")}, "ItemsPath", name)
        item_selector = spec.get("ItemSelector", spec.get("Parameters"))
        self.item_selector = compile_template(item_selector) if item_selector is not None else None
        self.selector = (
            compile_template(spec["ResultSelector"]) if "ResultSelector" in spec else None
        )
        self.item_ctx = uses_context(item_selector)
        self.needs_ctx = uses_context(spec.get("ResultSelector"))
        self.readers: dict[str, Any] = {
            field: value_reader(spec[field], field)
            for field in (
                "MaxConcurrencyPath",
                "ToleratedFailureCountPath",
                "ToleratedFailurePercentagePath",
            )
            if field in spec
        }
        self.max_concurrency = spec.get("MaxConcurrency", 0)
        self.tolerated_count = spec.get("ToleratedFailureCount")
        config = processor.get("ProcessorConfig") or {}
        # a distributed Map tolerates no failures unless told: one failed item fails the
        # Map Run with States.ExceedToleratedFailureThreshold
        if config.get("Mode") == "DISTRIBUTED" and not any(
            key in spec
            for key in (
                "ToleratedFailureCount",
                "ToleratedFailurePercentage",
                "ToleratedFailureCountPath",
                "ToleratedFailurePercentagePath",
            )
        ):
            self.tolerated_count = 0
        self.tolerated_percentage = spec.get("ToleratedFailurePercentage")
        self.sync = self.machine.sync and not self.retriers

    def _setting(self, field: str, fixed: Any, data: Any, ctx: Any, path: str) -> Any:
        reader = self.readers.get(field + "Path")
        if reader is None:
            return fixed
        value = reader(data, ctx)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise StatesError(
                RUNTIME,
                f"{field}Path of state '{path}' must select a non-negative number, got {preview(value)}",
            )
        return value

    def _items(self, run: Run, scope: Scope, data: Any, path: str) -> list[Any]:
        items = data if self.items_get is None else self.items_get(data, run, scope)
        if not isinstance(items, list):
            raise StatesError(
                RUNTIME,
                f"ItemsPath of Map state '{path}' must select an array, got {preview(items)}",
            )
        return items

    def attempt_sync(self, run: Run, scope: Scope, raw: Any, path: str) -> Any:
        return self._run(run, scope, raw, path, 0)

    async def attempt(
        self, run: Run, scope: Scope, raw: Any, path: str, retry_count: int, entered: datetime
    ) -> Any:
        if self.machine.sync:
            return self._run(run, scope, raw, path, retry_count)
        try:
            return await self._arun(run, scope, raw, path, retry_count)
        except asyncio.CancelledError:
            run.emit("MapStateAborted", self.name, path, None)
            raise

    def _begin(
        self, run: Run, scope: Scope, raw: Any, path: str, retry_count: int
    ) -> tuple[Any, list[Any], Any, _Tally]:
        data = raw if self.input_get is None else self.input_get(raw, run, scope)
        base_ctx = None
        if self.item_ctx or self.needs_ctx or self.readers:
            base_ctx = run.context(scope, self.name, run.clock.now(), retry_count)
        items = self._items(run, scope, data, path)
        count = self._setting("ToleratedFailureCount", self.tolerated_count, data, base_ctx, path)
        pct = self._setting(
            "ToleratedFailurePercentage", self.tolerated_percentage, data, base_ctx, path
        )
        if run.events is not None:
            run.emit("MapStateStarted", self.name, path, {"length": len(items)})
        return data, items, base_ctx, _Tally(len(items), count, pct)

    def _value(self, data: Any, items: list[Any], i: int, base_ctx: Any) -> Any:
        if self.item_selector is None:
            return items[i]
        ctx = None
        if base_ctx is not None:
            ctx = {**base_ctx, "Map": {"Item": {"Index": i, "Value": items[i]}}}
        return self.item_selector(data, ctx)

    def _failed(
        self, run: Run, path: str, i: int, err: StatesError, tally: _Tally, results: list[Any]
    ) -> None:
        run.emit(
            "MapIterationFailed",
            self.name,
            path,
            {"index": i, "error": err.error, "cause": err.cause},
        )
        if not tally.tolerates(err):
            run.emit("MapStateFailed", self.name, path, {"error": tally.error or err.error})
            if tally.error is not None:
                raise StatesError(tally.error, tally.cause)
            raise err
        results[i] = err.output()

    def _end(
        self, run: Run, scope: Scope, raw: Any, results: list[Any], base_ctx: Any, path: str
    ) -> Any:
        if run.events is not None:
            run.emit("MapStateSucceeded", self.name, path, None)
        result: Any = results if self.selector is None else self.selector(results, base_ctx)
        out = self.merge(raw, result)
        if self.output_get is not None:
            out = self.output_get(out, run, scope)
        run.check_size(out, path, "output")
        return out

    def _run(self, run: Run, scope: Scope, raw: Any, path: str, retry_count: int) -> Any:
        data, items, base_ctx, tally = self._begin(run, scope, raw, path, retry_count)
        results: list[Any] = [None] * len(items)
        start = self.machine.start
        events = run.events
        for i, item in enumerate(items):
            if events is not None:
                run.emit("MapIterationStarted", self.name, path, {"index": i})
            try:
                value = self._value(data, items, i, base_ctx)
                results[i] = run_machine_sync(start, run, Scope(f"{path}/{i}/", (i, item)), value)
            except StatesError as err:
                self._failed(run, path, i, err, tally, results)
                continue
            if events is not None:
                run.emit("MapIterationSucceeded", self.name, path, {"index": i})
        return self._end(run, scope, raw, results, base_ctx, path)

    async def _arun(self, run: Run, scope: Scope, raw: Any, path: str, retry_count: int) -> Any:
        data, items, base_ctx, tally = self._begin(run, scope, raw, path, retry_count)
        results: list[Any] = [None] * len(items)
        limit = int(self._setting("MaxConcurrency", self.max_concurrency, data, base_ctx, path))
        start = self.machine.start

        async def iteration(i: int) -> None:
            run.emit("MapIterationStarted", self.name, path, {"index": i})
            try:
                value = self._value(data, items, i, base_ctx)
                results[i] = await run_machine(
                    start, run, Scope(f"{path}/{i}/", (i, items[i])), value
                )
            except StatesError as err:
                self._failed(run, path, i, err, tally, results)
                return
            except asyncio.CancelledError:
                run.emit("MapIterationAborted", self.name, path, {"index": i})
                raise
            run.emit("MapIterationSucceeded", self.name, path, {"index": i})

        if items:
            await run_all(len(items), iteration, limit)
        return self._end(run, scope, raw, results, base_ctx, path)


class _Tally:
    """Counts failed iterations against ToleratedFailureCount / ToleratedFailurePercentage."""

    __slots__ = ("cause", "count", "error", "failed", "pct", "total")

    def __init__(self, total: int, count: Any, pct: Any) -> None:
        self.total = total
        self.count = count
        self.pct = pct
        self.failed = 0
        self.error: str | None = None
        self.cause: str | None = None

    def tolerates(self, err: StatesError) -> bool:
        if (self.count is None and self.pct is None) or err.terminal:
            return False
        self.failed += 1
        over_count = self.count is not None and self.failed > self.count
        over_pct = self.pct is not None and self.failed * 100.0 / self.total > self.pct
        if over_count or over_pct:
            self.error = EXCEED_TOLERATED_FAILURE_THRESHOLD
            self.cause = (
                f"{self.failed} of {self.total} iterations failed, more than the tolerated "
                f"{self.count if over_count else str(self.pct) + '%'}; the last error was "
                f"{err.error}: {err.cause}"
            )
            return False
        return True
