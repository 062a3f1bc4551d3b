"""A Batch job the Dask runner refuses before any attempt runs is described as the local
runner describes a failed job (one shape, from runtime.batch_description)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from cirrostratus.runtime.errors import BATCH_FAILED, TaskFailed

from .conftest import FIXTURE, WORKER_RESOURCES


class _LostWorkerFuture:
    """A submitted job whose worker died under it, as distributed reports it."""

    def __await__(self) -> Any:
        from distributed.scheduler import KilledWorker

        class _Worker:
            address = "tcp://10.0.0.9:4242"

        raise KilledWorker("batch-job", _Worker(), 0)  # type: ignore[arg-type]
        yield  # pragma: no cover

    def release(self) -> None:
        return None


class _FakeCluster:
    """What the Batch runner consults: the workers' resources (no GPU) and a client whose
    every job loses its worker."""

    running = 0
    connected = True

    def __init__(self) -> None:
        self.client = self

    async def ready(self) -> None:
        return None

    def submit(self, *args: Any, **kw: Any) -> _LostWorkerFuture:
        return _LostWorkerFuture()

    def worker_resources(self) -> list[dict[str, float]]:
        return [dict(WORKER_RESOURCES), dict(WORKER_RESOURCES)]


def _failure(tmp_path: Path, job_definition: str) -> tuple[Path, dict[str, Any]]:
    """Submit a `job_definition` job of the test project; the project and the cause."""
    from cirrostratus.engine.local import LocalEngine
    from cirrostratus.executors.dask_runtime import DaskBatchRunner

    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    engine = LocalEngine.open(root)
    try:
        runner = DaskBatchRunner(_FakeCluster(), engine.project, engine.locations)  # type: ignore[arg-type]
        params: dict[str, Any] = {
            "JobName": "gpu",
            "JobQueue": "BatchyJobQueue",
            "JobDefinition": job_definition,
            "Parameters": {"url": "s3://bucket/x.json"},
        }
        with pytest.raises(TaskFailed) as failed:
            asyncio.run(runner.submit_job(params))
    finally:
        engine.close()
    assert failed.value.error == BATCH_FAILED
    return root, orjson.loads(failed.value.cause)


def test_a_job_whose_worker_is_lost_on_every_attempt_fails_as_a_terminated_host(
    tmp_path: Path,
) -> None:
    root, cause = _failure(tmp_path, "KillerJob")

    assert cause["Status"] == "FAILED"
    assert cause["StatusReason"] == "Host EC2 (instance tcp://10.0.0.9:4242) terminated."
    assert len(cause["Attempts"]) == cause["RetryStrategy"]["Attempts"]
    assert all(a["StatusReason"] == cause["StatusReason"] for a in cause["Attempts"])
    assert cause["Container"]["Image"] == "example/killer:1.0"
    assert cause["Container"]["ExitCode"] is None
    stream = cause["Container"]["LogStreamName"]
    assert stream == cause["Attempts"][-1]["Container"]["LogStreamName"]
    assert (root / ".cirro" / "logs" / "batch" / stream).read_text().endswith("terminated.\n")


def test_a_refused_job_fails_with_the_local_runners_description(tmp_path: Path) -> None:
    root, cause = _failure(tmp_path, "GpuJob")

    assert cause["Status"] == "FAILED"
    assert cause["JobName"] == "gpu"
    assert cause["JobArn"].endswith(f":job/{cause['JobId']}")
    assert ":job-definition/" in cause["JobDefinition"]
    assert ":job-queue/" in cause["JobQueue"]  # the local runner names the queue too
    assert cause["Parameters"]["url"] == "s3://bucket/x.json"
    (attempt,) = cause["Attempts"]
    assert "GPU=1" in cause["StatusReason"] and cause["StatusReason"] == attempt["StatusReason"]
    assert cause["CreatedAt"] <= cause["StartedAt"] == attempt["StartedAt"]
    assert cause["StoppedAt"] == attempt["StoppedAt"] >= cause["StartedAt"]
    container = cause["Container"]
    assert container["Image"] == "example/gpu:1.0"
    assert container["ExitCode"] is None
    assert container["LogStreamName"] == attempt["Container"]["LogStreamName"]
    log = (root / ".cirro" / "logs" / "batch" / container["LogStreamName"]).read_text()
    assert log.rstrip().endswith(cause["StatusReason"])
