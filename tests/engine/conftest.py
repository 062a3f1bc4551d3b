"""A temporary copy of the engine test project, and payload makers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "project"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    return root


def make_payload(
    workflow: str,
    item_id: str = "item-1",
    *,
    tasks: dict[str, Any] | None = None,
    collection: str = "test-collection",
    process: Any = None,
) -> dict[str, Any]:
    block = {
        "workflow": workflow,
        "upload_options": {"path_template": "${collection}/${year}/${month}/${id}"},
        "tasks": tasks or {},
    }
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "collection": collection,
                "geometry": None,
                "properties": {"datetime": "2024-07-04T00:00:00Z"},
                "assets": {},
                "links": [],
            }
        ],
        "process": process if process is not None else block,
    }
