"""Fixture files for the payload tests (tests/payload/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def test_payload() -> dict[str, Any]:
    return load("test-payload.json")  # type: ignore[no-any-return]
