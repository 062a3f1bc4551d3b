from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from cirrostratus.asl import SystemClock, VirtualClock

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_virtual_clock_wakes_sleepers_in_time_order() -> None:
    clock = VirtualClock(START)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float, busy_turns: int = 0) -> None:
        for _ in range(busy_turns):  # work before sleeping must finish before time moves
            await asyncio.sleep(0)
        await clock.sleep(seconds)
        woke.append((name, (clock.now() - START).total_seconds()))

    async def main() -> None:
        await asyncio.gather(
            sleeper("late", 5), sleeper("slow-start", 3, busy_turns=200), sleeper("early", 1)
        )

    asyncio.run(main())
    assert woke == [("early", 1), ("slow-start", 3), ("late", 5)]
    assert clock.slept == [5, 1, 3]


def test_cancelled_sleepers_do_not_move_time() -> None:
    clock = VirtualClock(START)

    async def main() -> None:
        long = asyncio.ensure_future(clock.sleep(100))
        await asyncio.sleep(0)
        long.cancel()
        await clock.sleep(2)

    asyncio.run(main())
    assert clock.now() == START + timedelta(seconds=2)


def test_advance_and_zero_sleep() -> None:
    clock = VirtualClock(START)
    clock.advance(10)
    asyncio.run(clock.sleep(0))
    assert clock.now() == START + timedelta(seconds=10)


def test_system_clock_is_utc_and_sleeps() -> None:
    clock = SystemClock()
    assert clock.now().tzinfo is UTC
    asyncio.run(clock.sleep(-1))  # negative is no sleep, not an error
