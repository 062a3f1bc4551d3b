"""`--executor` and `--scheduler` on `cirro run` and `cirro serve`: where task invocations run.

cirro run payload.json --executor dask                              # a LocalCluster here
cirro run payload.json --executor dask --scheduler tcp://head:8786  # a running cluster
DASK_SCHEDULER_ADDRESS=tcp://head:8786 cirro serve --executor dask

`custom.cirro.executor: dask` in cirrus.yml makes dask the project's default. Nothing of
dask is imported unless it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cirrostratus.cli.errors import CliError

F = TypeVar("F", bound=Callable[..., Any])
EXECUTORS = ("local", "dask")


def executor_options(fn: F) -> F:
    """The three options, the same on `run` and `serve`."""
    fn = click.option(
        "--dask-workers",
        type=click.IntRange(min=1),
        default=None,
        help="Worker processes of the LocalCluster started when no --scheduler is given "
        "(default: one per core).",
    )(fn)
    fn = click.option(
        "--scheduler",
        envvar="DASK_SCHEDULER_ADDRESS",
        default=None,
        metavar="ADDRESS",
        help="The Dask scheduler to run tasks on, e.g. tcp://HOST:8786 (default: "
        "$DASK_SCHEDULER_ADDRESS, else a LocalCluster on this machine).",
    )(fn)
    return click.option(
        "--executor",
        type=click.Choice(EXECUTORS),
        default=None,
        help="Where task invocations run: `local` worker processes (default) or `dask` "
        "workers (see docs/dask.md); cirrus.yml's custom.cirro.executor sets the project's default.",
    )(fn)


def chosen_executor(engine: Any, executor: str | None) -> str:
    """The option, else the project's `custom.cirro.executor`, else `local`."""
    if executor:
        return executor
    config = getattr(engine.project, "config", None) or {}
    custom = config.get("custom") if isinstance(config, dict) else None
    cirro = custom.get("cirro") if isinstance(custom, dict) else None
    value = cirro.get("executor") if isinstance(cirro, dict) else None
    if value is None:
        return "local"
    if value not in EXECUTORS:
        engine.close()
        raise CliError(
            f"{engine.project.root / 'cirrus.yml'}: custom.cirro.executor is {value!r}; "
            f"use one of {', '.join(EXECUTORS)}",
            2,
        )
    return str(value)


def use_executor(
    engine: Any,
    executor: str | None,
    scheduler: str | None,
    workers: int | None,
    *,
    serving: bool,
) -> Any:
    """Install the chosen executor on `engine`; the DaskExecutor (for its status), or None.

    A cluster elsewhere with this machine's folders as stores is refused here (exit 2),
    before anything starts.
    """
    if chosen_executor(engine, executor) != "dask":
        if scheduler and executor == "local":
            engine.close()
            raise CliError("--scheduler needs --executor dask", 2)
        return None
    try:
        import distributed  # noqa: F401
    except ImportError:
        engine.close()
        raise CliError(
            "--executor dask needs dask.distributed: pip install 'cirrostratus[dask]'", 2
        ) from None
    from cirrostratus.executors.dask_cluster import ClusterOptions
    from cirrostratus.executors.dask_runtime import DaskExecutor
    from cirrostratus.executors.dask_storage import (
        SharedStorageError,
        check_shared_storage,
        scheduler_host,
    )

    if scheduler:
        try:
            check_shared_storage(engine.locations, [scheduler_host(scheduler)])
        except SharedStorageError as exc:
            engine.close()
            raise CliError(str(exc), 2) from None
    options = ClusterOptions(
        scheduler=scheduler,
        workers=workers,
        patience_s=None if serving else 30.0,
        quiet=True,
        say=lambda text: click.echo(text, err=True),
    )
    dask_executor = DaskExecutor(options)
    engine.task_runtimes = dask_executor
    return dask_executor


def cluster_errors() -> tuple[type[BaseException], ...]:
    """What starting the cluster can raise that is the user's to fix (said in one line)."""
    from cirrostratus.executors.dask_cluster import ClusterUnavailable
    from cirrostratus.executors.dask_storage import SharedStorageError

    return (ClusterUnavailable, SharedStorageError)


def with_cluster_status(update: Callable[..., Any], dask_executor: Any) -> Callable[..., Any]:
    """A progress callback that adds the cluster's workers and running invocations."""

    def progress(done: int, total: int, counts: dict[str, int]) -> None:
        update(done, total, {**counts, **dask_executor.status()})

    return progress
