"""One real `distributed.LocalCluster` (2 worker processes) for every test here, and a fresh
copy of the test project per test."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "project"
WORKER_RESOURCES = {"VCPU": 2.0, "MEMORY": 4096.0}  # no GPU: this cluster has none


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            resources=WORKER_RESOURCES,
            memory_limit=0,
        )
    try:
        yield local
    finally:
        with Client(local) as client:
            client.close()
        local.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    return root


def make_payload(workflow: str, item_id: str = "item-1", **tasks: Any) -> dict[str, Any]:
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
            "upload_options": {"path_template": "${collection}/${id}"},
            "tasks": tasks,
        },
    }


def run_on_cluster(
    address: str, root: Path, payloads: list[dict[str, Any]]
) -> tuple[Any, list[str]]:
    """Run payloads through the engine of `root` with every invocation on the cluster at
    `address`; the report and what the executor said."""
    from cirrostratus.engine.local import LocalEngine
    from cirrostratus.executors.dask_cluster import ClusterOptions
    from cirrostratus.executors.dask_runtime import DaskExecutor

    said: list[str] = []
    engine = LocalEngine.open(root)
    engine.task_runtimes = DaskExecutor(  # type: ignore[attr-defined]
        ClusterOptions(scheduler=address, say=said.append)
    )
    try:
        report = asyncio.run(engine.run(payloads))
    finally:
        engine.close()
    return report, said


def wait_for_workers(cluster: Any, count: int = 2, timeout: float = 60.0) -> None:
    from distributed import Client

    with Client(cluster) as client:
        client.wait_for_workers(count, timeout=timeout)
