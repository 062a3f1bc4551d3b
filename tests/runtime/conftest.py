"""Runtime test helpers: one event loop per module so warm pools are shared across tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PROBE = FIXTURES / "tasks" / "probe"

T = TypeVar("T")


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture(scope="module")
def run(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[T]], T]:
    def _run(aw: Awaitable[Any]) -> Any:
        return loop.run_until_complete(aw)

    return _run
