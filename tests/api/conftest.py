"""One project, run once per session (a failed, a completed and a retried payload), and a
FastAPI TestClient over it. Tests that write (submit, rerun) use their own project."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

FIXTURE = Path(__file__).parents[1] / "engine" / "fixtures" / "project"
TOKEN = "test-token-1234"


def make_payload(
    workflow: str, item_id: str, *, tasks: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A one-item payload for a workflow of the engine tests' project."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "collection": "test-collection",
                "geometry": None,
                "properties": {"datetime": "2024-07-04T00:00:00Z"},
                "assets": {},
                "links": [],
            }
        ],
        "process": {
            "workflow": workflow,
            "upload_options": {"path_template": "${collection}/${year}/${month}/${id}"},
            "tasks": tasks or {},
        },
    }


def square(item_id: str, lon: float, lat: float) -> dict[str, Any]:
    """A mirror payload whose item has a footprint (for the dashboard's map)."""
    payload = make_payload("mirror", item_id)
    ring = [[lon, lat], [lon + 1, lat], [lon + 1, lat + 1], [lon, lat + 1], [lon, lat]]
    payload["features"][0]["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    payload["features"][0]["bbox"] = [lon, lat, lon + 1, lat + 1]
    return payload


def new_project(root: Path) -> Path:
    shutil.copytree(FIXTURE, root)
    return root


def run(root: Path, payloads: list[dict[str, Any]]) -> None:
    from cirrostratus.engine.local import LocalEngine

    engine = LocalEngine.open(root)
    try:
        asyncio.run(engine.run(payloads))
    finally:
        engine.close()


@pytest.fixture(scope="session")
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """crash/c1 FAILED, mirror/m1 and m2 COMPLETED, flaky/f1 COMPLETED after a retry."""
    root = new_project(tmp_path_factory.mktemp("api") / "project")
    marks = root / "marks"
    run(
        root,
        [
            make_payload("crash", "c1"),
            square("m1", 10.0, 45.0),
            square("m2", 11.5, 45.5),
            make_payload("flaky", "f1", tasks={"flaky": {"marks": str(marks)}}),
        ],
    )
    return root


def client_for(root: Path) -> Any:
    from fastapi.testclient import TestClient

    from cirrostratus.api.app import create_app
    from cirrostratus.api.backend import ApiBackend
    from cirrostratus.engine.local import LocalEngine

    backend = ApiBackend(LocalEngine.open(root), token=TOKEN)
    return TestClient(create_app(backend, max_body=64 * 1024)), backend


@pytest.fixture(scope="session")
def client(ran_project: Path) -> Iterator[Any]:
    """A read-only client over the session's project (do not write through it)."""
    test_client, backend = client_for(ran_project)
    yield test_client
    backend.close()


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[tuple[Any, Any, Path]]:
    """A client over a fresh project of its own (one FAILED payload), for write routes."""
    root = new_project(tmp_path / "project")
    run(root, [make_payload("crash", "c1")])
    test_client, backend = client_for(root)
    yield test_client, backend, root
    backend.close()


AUTH = {"Authorization": f"Bearer {TOKEN}"}
