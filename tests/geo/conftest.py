"""Fixtures for the geospatial builtins: tiny generated scenes and the builtin task modules."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("rasterio")
pytest.importorskip("rio_cogeo")

from cirrostratus.geo.synthetic import make_scenes
from cirrostratus.project.project import BUILTINS_ROOT


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Two 256x256x3 uint16 scenes (UTM 33N, nodata 0 on a top border) and their items."""
    return make_scenes(tmp_path_factory.mktemp("scenes"), 2)


def load_task(name: str) -> ModuleType:
    """The builtin task's lambda_function module, loaded from its folder."""
    return load_module(Path(BUILTINS_ROOT) / "tasks" / name / "lambda_function.py")


def load_module(path: Path) -> ModuleType:
    """A builtin component's lambda_function module, loaded from its file."""
    name = f"geo_builtin_{path.parent.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def payload(items: list[dict[str, Any]], tasks: dict[str, Any], **upload: Any) -> dict[str, Any]:
    """A process payload for `items` (copied) with the given task parameters."""
    return {
        "type": "FeatureCollection",
        "id": "test/workflow-geo/" + "/".join(i["id"] for i in items),
        "features": copy.deepcopy(items),
        "process": {
            "workflow": "geo",
            "upload_options": {"path_template": "${collection}/${id}", **upload},
            "tasks": tasks,
        },
    }


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data store for the tasks (CIRRUS_DATA_BUCKET), as cirro gives each worker."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("CIRRUS_DATA_BUCKET", str(root))
    return root
