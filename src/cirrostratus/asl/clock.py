"""Time for the interpreter: the real clock, and a virtual one so tests never sleep.

Wait states, Retry intervals, Task timeouts and the execution timeout all go through a Clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the interpreter needs from time."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time (UTC) and real `asyncio.sleep`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class VirtualClock:
    """Time that only moves when every coroutine is waiting on it.

    `sleep(s)` registers a wake-up at `now + s`. A driver task lets everything else runnable
    run first (a few loop turns), then jumps time to the earliest wake-up and releases that
    sleeper. So a 3-hour Wait or a retry back-off finishes instantly while ordering between
    sleepers, timeouts and task completions stays exactly as it would be in real time.
    `slept` records every requested sleep, for asserting on retry intervals.
    """

    def __init__(self, start: datetime | None = None, *, settle_turns: int = 20) -> None:
        self._now = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self._settle = settle_turns
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (wakes nobody; use for tests of timestamps)."""
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        heapq.heappush(
            self._sleepers, (self._now + timedelta(seconds=seconds), next(self._seq), fut)
        )
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await fut

    async def _drive(self) -> None:
        # asyncio keeps runnable callbacks in loop._ready; when it is empty after our turn,
        # everything else is blocked (on us, or on real I/O). Fall back to a fixed number of
        # turns on loops without it.
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        while self._sleepers:
            for _ in range(self._settle):
                await asyncio.sleep(0)
            spins = 0
            while ready and spins < 1_000:  # a busy loop must not stop time forever
                await asyncio.sleep(0)
                spins += 1
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # cancelled sleepers
            if not self._sleepers:
                return
            when, _, fut = heapq.heappop(self._sleepers)
            self._now = max(self._now, when)
            fut.set_result(None)
