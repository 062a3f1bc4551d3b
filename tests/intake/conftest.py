"""Fixtures for the intake queue: a controllable clock and a queue in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cirrostratus.intake import SqliteIntakeQueue


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteIntakeQueue]:
    q = SqliteIntakeQueue(tmp_path / "intake.db", now=clock, visibility_timeout=30, max_receives=3)
    yield q
    q.close()
