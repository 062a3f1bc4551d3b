"""The engine's connection to a Dask cluster: a LocalCluster it owns, or a scheduler it joins.

The client is asynchronous, on the engine's own event loop, so awaiting a task costs the
engine nothing but a future. The scheduler is asked to fail a task whose worker dies rather
than rerun it elsewhere (`allowed_failures = 0`): the invocation then fails as AWS reports
a lost execution environment, and the workflow's own Retry decides, as on AWS.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
RECONNECT_POLL_S = 0.5
WATCH_S = 1.0
CLUSTER_CONFIG = {
    # a task whose worker dies fails (Runtime.ExitError / Host EC2 terminated) instead of
    # being rerun elsewhere by Dask: the workflow's Retry decides, as on AWS
    "distributed.scheduler.allowed-failures": 0,
    # the workers' statistical profiler samples every 10 ms: CPU a CPU-bound task needs
    "distributed.worker.profile.enabled": False,
}


class ClusterUnavailable(Exception):
    """The scheduler cannot be reached (at start, or for longer than `cirro run` waits)."""


@dataclass
class ClusterOptions:
    """What `--executor dask` was given."""

    scheduler: str | None = None
    """`tcp://HOST:8786`; None: start a LocalCluster on this machine."""
    workers: int | None = None
    """LocalCluster worker processes (default: this machine's cores)."""
    patience_s: float | None = 30.0
    """How long a lost scheduler is waited for before invocations fail (None: forever, serve)."""
    quiet: bool = False
    """Silence distributed's own log lines (the CLI; tests and the Python API keep them)."""
    say: Any = field(default=None, repr=False)
    """Where to tell the user about the cluster (a `print`-like callable; default stderr)."""


def _say_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def local_resources() -> dict[str, float]:
    """What a LocalCluster worker declares: this machine's cores, memory (MiB) and GPUs.

    Every worker of a LocalCluster shares the machine, so each may hold what the machine
    has (as the local Batch runner clamps a job to it); it runs one task at a time.
    """
    from cirrostratus.runtime.slots import gpu_count, machine_memory_mb

    resources = {"VCPU": float(os.cpu_count() or 1), "MEMORY": float(machine_memory_mb())}
    gpus = gpu_count()
    if gpus:
        resources["GPU"] = float(gpus)
    return resources


def _no_reruns(dask_scheduler: Any) -> None:  # runs on the scheduler
    dask_scheduler.allowed_failures = 0


def _dashboard_served(dask_scheduler: Any) -> bool:  # runs on the scheduler
    """Its HTTP server always runs (health, metrics); the dashboard pages need bokeh."""
    return bool(importlib.util.find_spec("bokeh")) and "dashboard" in (
        getattr(dask_scheduler, "services", None) or {}
    )


class Cluster:
    """A started client (and the LocalCluster when it is ours)."""

    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self.say = options.say or _say_stderr
        self.client: Any = None
        self.local: Any = None
        self.address = options.scheduler or ""
        self.dashboard: str | None = None
        self.running = 0  # invocations submitted and not yet answered
        self._workers: dict[str, Any] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._lost_said = False

    async def start(self) -> Cluster:
        import dask
        from distributed import Client, LocalCluster  # untyped: called through Any

        client_cls: Any = Client
        cluster_cls: Any = LocalCluster

        if self.options.quiet:  # the CLI says what matters itself, in one line each
            for name in ["distributed", *logging.root.manager.loggerDict]:
                if name.startswith("distributed"):
                    logging.getLogger(name).setLevel(logging.CRITICAL)

        if self.options.scheduler is None:
            workers = self.options.workers or os.cpu_count() or 1
            dashboard = ":0" if importlib.util.find_spec("bokeh") else None
            with dask.config.set(CLUSTER_CONFIG):
                self.local = await cluster_cls(
                    n_workers=workers,
                    threads_per_worker=2,
                    processes=True,
                    asynchronous=True,
                    dashboard_address=dashboard,
                    resources=local_resources(),
                    memory_limit=0,  # the runtime enforces each task's own limit
                    silence_logs=logging.ERROR,
                )
            self.address = self.local.scheduler_address
            self.client = await client_cls(self.local, asynchronous=True)
            await self.client.wait_for_workers(workers, timeout=60)
            kind = f"LocalCluster with {workers} worker process{'es' if workers != 1 else ''}"
        else:
            try:
                self.client = await client_cls(
                    self.options.scheduler, asynchronous=True, timeout=CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError) as exc:
                raise ClusterUnavailable(
                    f"cannot reach the Dask scheduler at {self.options.scheduler}: {exc}"
                ) from None
            await self.client.run_on_scheduler(_no_reruns)
            kind = f"scheduler {self.address}"
        await self.refresh()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())
        self.dashboard = await self._dashboard_link()
        where = (
            f"dashboard {self.dashboard}"
            if self.dashboard
            else "dashboard off (the scheduler needs bokeh>=3.1 for it)"
        )
        self.say(f"dask: {kind}, {self.worker_count()} workers; {where}")
        return self

    async def _dashboard_link(self) -> str | None:
        """The dashboard's address, when the scheduler serves one (it needs bokeh there)."""
        try:
            served = await self.client.run_on_scheduler(_dashboard_served)
            link = self.client.dashboard_link if served else None
        except Exception as exc:
            logger.debug("no dashboard link: %s", exc)
            return None
        return str(link) if link else None

    # -- what the cluster offers -------------------------------------------------------
    async def refresh(self) -> None:
        """Read the workers now (an asynchronous client keeps no per-worker copy)."""
        try:
            info = await self.client.scheduler.identity(n_workers=-1)
        except Exception as exc:  # the scheduler is gone: keep the last known workers
            logger.debug("could not read the workers: %s", exc)
            return
        self._workers = dict(info.get("workers") or {})

    async def _watch(self) -> None:
        """Keep the worker list fresh (a lost worker, one that joins, a restart)."""
        while True:
            await asyncio.sleep(WATCH_S)
            if self.connected:
                await self.refresh()

    def workers(self) -> dict[str, Any]:
        return self._workers

    def worker_count(self) -> int:
        return len(self.workers())

    def worker_resources(self) -> list[dict[str, float]]:
        return [dict(w.get("resources") or {}) for w in self.workers().values()]

    def worker_hosts(self) -> list[str]:
        return [str(w.get("host") or "") for w in self.workers().values()]

    def status(self) -> dict[str, int]:
        """For the progress line: workers connected, invocations running on the cluster."""
        return {"dask_workers": self.worker_count(), "dask_running": self.running}

    # -- the scheduler coming and going ------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.status == "running"

    async def ready(self) -> None:
        """Return once the scheduler answers; while it is gone no invocation is submitted.

        The client reconnects by itself for a while; after that it closes, and a new one
        is made here. Raises ClusterUnavailable after `patience_s` (None: waits forever).
        """
        if self.connected:
            return
        loop = asyncio.get_running_loop()
        began = loop.time()
        if not self._lost_said:
            self._lost_said = True
            self.say(
                f"dask: the scheduler at {self.address} is gone; no task starts until it is back"
            )
        patience = self.options.patience_s
        while not self.connected:
            if patience is not None and loop.time() - began > patience:
                raise ClusterUnavailable(
                    f"the Dask scheduler at {self.address} has been gone for {patience:.0f}s"
                )
            if self.client is not None and self.client.status in ("closed", "closing"):
                await self._reconnect()
            await asyncio.sleep(RECONNECT_POLL_S)
        if self._lost_said:
            self._lost_said = False
            self.say(f"dask: the scheduler at {self.address} is back; tasks start again")

    async def _reconnect(self) -> None:
        from distributed import Client

        client_cls: Any = Client
        try:
            client = await client_cls(self.address, asynchronous=True, timeout=RECONNECT_POLL_S * 4)
        except (OSError, TimeoutError):
            return
        self.client = client
        try:
            await client.run_on_scheduler(_no_reruns)
        except Exception as exc:  # an older scheduler refusing it still runs our tasks
            logger.warning("could not set allowed_failures on the scheduler: %s", exc)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        if self.client is not None:
            try:
                await self.client.close()
            except Exception as exc:
                logger.debug("closing the dask client: %s", exc)
        if self.local is not None:
            await self.local.close()
