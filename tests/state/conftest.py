"""Fixtures for the state store: a controllable clock and a store in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cirrostratus.state import SqliteStateStore


class FakeClock:
    """`now()` for stores and queues: time moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.t = start or datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float = 0, **kw: float) -> None:
        self.t += timedelta(seconds=seconds, **kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteStateStore]:
    s = SqliteStateStore(tmp_path / "state.db", now=clock, lease_seconds=60)
    yield s
    s.close()
