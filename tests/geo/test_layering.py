"""geo/ is a library under the builtins: it imports nothing from builtins/ (DESIGN.md's layers)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import cirrostratus.geo
from cirrostratus.geo import feeding

GEO = Path(cirrostratus.geo.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(GEO.glob("*.py")), ids=lambda p: p.name)
def test_geo_does_not_import_the_builtins(path: Path) -> None:
    upward = {m for m in imported_modules(path) if m.startswith("cirrostratus.builtins")}
    assert not upward, f"{path.name} imports {upward}"


def test_emit_queues_through_the_callers_sender() -> None:
    sent: list[tuple[str, list[dict[str, Any]]]] = []
    event = {"process": {"workflow": "mirror"}}
    groups = ([{"id": f"i{n}"}] for n in range(3))
    counts = feeding.emit(
        groups, event, "feed-x", lambda name, batch: sent.append((name, list(batch)))
    )
    assert counts["queued"] == 3
    assert [name for name, _ in sent] == ["feed-x"]
    assert [p["features"][0]["id"] for p in sent[0][1]] == ["i0", "i1", "i2"]


def test_emit_without_output_or_sender_says_so() -> None:
    with pytest.raises(ValueError, match="nowhere to send"):
        feeding.emit(iter([[{"id": "a"}]]), {"process": {"workflow": "w"}}, "feed-x")
