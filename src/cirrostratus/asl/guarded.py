"""Retry and Catch: the error handling Task, Parallel and Map states share."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from cirrostratus.asl.errors import StatesError, error_matches
from cirrostratus.asl.paths import ResultPathMismatch, set_at
from cirrostratus.asl.runtime import Run, Scope
from cirrostratus.asl.states import State, reference_keys


class Retrier:
    __slots__ = ("backoff", "errors", "interval", "jitter", "max_attempts", "max_delay")

    def __init__(self, spec: dict[str, Any]) -> None:
        self.errors = frozenset(spec["ErrorEquals"])
        self.interval = float(spec.get("IntervalSeconds", 1))
        self.max_attempts = int(spec.get("MaxAttempts", 3))
        self.backoff = float(spec.get("BackoffRate", 2.0))
        self.max_delay = spec.get("MaxDelaySeconds")
        self.jitter = spec.get("JitterStrategy", "NONE") == "FULL"

    def delay(self, attempt: int) -> float:
        """Seconds before retry number `attempt + 1` (attempt counts from 0)."""
        delay = self.interval * self.backoff**attempt
        if self.max_delay is not None:
            delay = min(delay, float(self.max_delay))
        if self.jitter:
            delay = random.uniform(0, delay)
        return delay


class Catcher:
    __slots__ = ("discard", "errors", "keys", "next", "next_name", "result_path")

    def __init__(self, spec: dict[str, Any]) -> None:
        self.errors = frozenset(spec["ErrorEquals"])
        self.next_name: str = spec["Next"]
        self.next: State | None = None
        self.result_path = spec.get("ResultPath", "$")
        self.discard = "ResultPath" in spec and spec["ResultPath"] is None
        self.keys = () if self.discard else reference_keys(self.result_path)


class Guarded(State):
    """A state with Retry and Catch. Subclasses implement `attempt()` (and `attempt_sync()`
    when they can run synchronously); retries need the clock, so they force the async path."""

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        super().__init__(name, spec)
        self.retriers = [Retrier(r) for r in spec.get("Retry", [])]
        self.catchers = [Catcher(c) for c in spec.get("Catch", [])]

    async def attempt(
        self, run: Run, scope: Scope, raw: Any, path: str, retry_count: int, entered: datetime
    ) -> Any:
        raise NotImplementedError  # pragma: no cover

    def attempt_sync(self, run: Run, scope: Scope, raw: Any, path: str) -> Any:
        raise NotImplementedError  # pragma: no cover

    def step(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        path = scope.prefix + self.name if scope.prefix else self.name
        if run.events is not None:
            run.emit(self.entered_type, self.name, path, {"input": raw})
        try:
            out = self.attempt_sync(run, scope, raw, path)
        except StatesError as err:
            return self.catch(run, raw, err, path)
        if run.events is not None:
            run.emit(self.exited_type, self.name, path, {"output": out})
        return out, self.next

    async def astep(self, run: Run, scope: Scope, raw: Any) -> tuple[Any, State | None]:
        path = self.path_in(scope)
        run.emit(self.entered_type, self.name, path, {"input": raw})
        entered = run.clock.now()
        attempts = [0] * len(self.retriers)
        retry_count = 0
        while True:
            try:
                out = await self.attempt(run, scope, raw, path, retry_count, entered)
                break
            except StatesError as err:
                delay = self.retry_delay(err, attempts)
                if delay is None:
                    return self.catch(run, raw, err, path)
                retry_count += 1
                run.emit(
                    "RetryScheduled",
                    self.name,
                    path,
                    {"error": err.error, "cause": err.cause, "retry": retry_count, "delay": delay},
                )
                await run.clock.sleep(delay)
        run.emit(self.exited_type, self.name, path, {"output": out})
        return out, self.next

    def retry_delay(self, err: StatesError, attempts: list[int]) -> float | None:
        """The delay before the next attempt, or None when no retrier (with attempts left) applies.

        The first retrier whose ErrorEquals matches decides; once it is exhausted the error goes
        to the catchers, later retriers are not consulted (as on AWS).
        """
        for index, retrier in enumerate(self.retriers):
            if error_matches(retrier.errors, err.error, err.also):
                if attempts[index] >= retrier.max_attempts:
                    return None
                delay = retrier.delay(attempts[index])
                attempts[index] += 1
                return delay
        return None

    def catch(self, run: Run, raw: Any, err: StatesError, path: str) -> tuple[Any, State | None]:
        for catcher in self.catchers:
            if error_matches(catcher.errors, err.error, err.also):
                if catcher.discard:
                    out = raw
                else:
                    try:
                        out = set_at(raw, catcher.keys, err.output())
                    except ResultPathMismatch as exc:
                        raise StatesError(
                            "States.Runtime",
                            f"Catch ResultPath '{catcher.result_path}' of state '{path}' cannot "
                            f"be applied: {exc}",
                        ) from None
                run.emit(
                    self.exited_type,
                    self.name,
                    path,
                    {"output": out, "caught": err.error, "next": catcher.next_name},
                )
                return out, catcher.next
        if err.state is None:
            err.state = path
        raise err
