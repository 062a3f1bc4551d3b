"""While the scheduler is gone no invocation is submitted; `cirro run` gives up cleanly."""

from __future__ import annotations

import asyncio

import pytest

from cirrostratus.executors.dask_cluster import Cluster, ClusterOptions, ClusterUnavailable


class _Client:
    """Stands in for distributed's client: only its connection status matters here."""

    def __init__(self, status: str) -> None:
        self.status = status


def test_ready_waits_for_the_scheduler_and_says_so() -> None:
    said: list[str] = []
    cluster = Cluster(ClusterOptions(scheduler="tcp://127.0.0.1:1", say=said.append))
    cluster.client = _Client("connecting")

    async def scenario() -> bool:
        waiting = asyncio.ensure_future(cluster.ready())
        await asyncio.sleep(0.2)
        blocked = not waiting.done()
        cluster.client.status = "running"  # the client reconnected
        await asyncio.wait_for(waiting, 5)
        return blocked

    assert asyncio.run(scenario())
    assert (
        said[0]
        == "dask: the scheduler at tcp://127.0.0.1:1 is gone; no task starts until it is back"
    )
    assert said[1] == "dask: the scheduler at tcp://127.0.0.1:1 is back; tasks start again"


def test_run_gives_up_after_its_patience() -> None:
    cluster = Cluster(
        ClusterOptions(scheduler="tcp://127.0.0.1:1", patience_s=0.2, say=lambda _t: None)
    )
    cluster.client = _Client("connecting")
    with pytest.raises(ClusterUnavailable, match="has been gone for 0s"):
        asyncio.run(cluster.ready())
