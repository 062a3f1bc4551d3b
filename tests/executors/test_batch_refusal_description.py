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


class _NoGpuCluster:
    """Only what the refusal consults: the workers' resources (none has a GPU)."""

    def worker_resources(self) -> list[dict[str, float]]:
        return [dict(WORKER_RESOURCES), dict(WORKER_RESOURCES)]


def test_a_refused_job_fails_with_the_local_runners_description(tmp_path: Path) -> None:
    from cirrostratus.engine.local import LocalEngine
    from cirrostratus.executors.dask_runtime import DaskBatchRunner

    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    engine = LocalEngine.open(root)
    try:
        runner = DaskBatchRunner(_NoGpuCluster(), engine.project, engine.locations)  # type: ignore[arg-type]
        params: dict[str, Any] = {
            "JobName": "gpu",
            "JobQueue": "BatchyJobQueue",
            "JobDefinition": "GpuJob",
            "Parameters": {"url": "s3://bucket/x.json"},
        }
        with pytest.raises(TaskFailed) as failed:
            asyncio.run(runner.submit_job(params))
    finally:
        engine.close()

    assert failed.value.error == BATCH_FAILED
    cause = orjson.loads(failed.value.cause)
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
