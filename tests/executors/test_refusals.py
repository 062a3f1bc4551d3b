"""What no worker can hold fails at once, before anything is submitted to Dask."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from cirrostratus.executors.dask_cluster import Cluster, ClusterOptions
from cirrostratus.executors.dask_runtime import INSUFFICIENT, DaskLambdaPool
from cirrostratus.runtime.errors import TaskFailed
from cirrostratus.runtime.spec import LambdaSpec


class _Refusing:
    """A client that must not be asked to run anything."""

    status = "running"

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("submitted a task no worker can hold")


def test_a_lambda_bigger_than_every_worker_fails_with_what_is_missing(tmp_path: Path) -> None:
    cluster = Cluster(ClusterOptions(scheduler="tcp://127.0.0.1:1", say=lambda _t: None))
    cluster.client = _Refusing()
    cluster._workers = {"tcp://a": {"resources": {"MEMORY": 2048.0}}}
    spec = LambdaSpec("big", tmp_path, memory_mb=10240)
    pool = DaskLambdaPool(cluster, {"big": spec})

    with pytest.raises(TaskFailed) as caught:
        asyncio.run(pool.invoke("big", {}))

    assert caught.value.error == INSUFFICIENT
    message = orjson.loads(caught.value.cause or "")["errorMessage"]
    assert message.startswith(
        "function big needs MEMORY=10240 MiB (the largest worker has MEMORY=2048 MiB): "
        "no Dask worker can run it"
    )
    assert '--resources "VCPU=8,MEMORY=30000,GPU=1"' in message


def test_an_unknown_function_fails_as_lambda_says(tmp_path: Path) -> None:
    cluster = Cluster(ClusterOptions(scheduler="tcp://127.0.0.1:1", say=lambda _t: None))
    cluster.client = _Refusing()
    pool = DaskLambdaPool(cluster, {})
    with pytest.raises(TaskFailed) as caught:
        asyncio.run(pool.invoke("nope", {}))
    assert caught.value.error == "Lambda.ResourceNotFoundException"
