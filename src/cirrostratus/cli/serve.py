"""`cirro serve`: a long-running engine that drains the project's intake queue."""

from __future__ import annotations

import asyncio
import os
import signal

import click

from cirrostratus.cli.api import api_options, spawn_api
from cirrostratus.cli.aws_options import aws_option, start_engine_aws
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.executor_options import executor_options
from cirrostratus.cli.local import open_engine
from cirrostratus.cli.task_env import no_task_envs_option, prepare_or_fail


@click.command()
@api_options
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Serve the state API and dashboard (/ui) on this port while draining (0: any free).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Executions in flight at once (default: 64 per core), as `cirro run --concurrency`.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    hidden=True,
    help="Deprecated name of --concurrency.",
)
@no_task_envs_option
@executor_options
@aws_option
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int | None,
    max_body: int,
    concurrency: int | None,
    workers: int | None,
    no_task_envs: bool,
    executor: str | None = None,
    scheduler: str | None = None,
    dask_workers: int | None = None,
    aws: str | None = None,
) -> None:
    """Run payloads as they arrive (`cirro submit`, chains, reruns) until stopped.

    On start it resumes what a stopped engine left: CLAIMED and PROCESSING payloads run again
    from their stored input. SIGTERM or Ctrl-C stops receiving and lets running executions
    finish; a second Ctrl-C stops at once (what was running is resumed on the next start).
    """
    from cirrostratus.engine.lock import EngineBusy

    if workers is not None:
        click.echo("--workers is deprecated: use --concurrency (same meaning)", err=True)
        concurrency = concurrency or workers
    api_server = spawn_api(ctx, host, port, max_body) if port is not None else None
    engine = open_engine(ctx, concurrency=concurrency)
    prepare_or_fail(engine, no_task_envs)  # each task's own environment, built once
    from cirrostratus.cli.executor_options import use_executor

    use_executor(engine, executor, scheduler, dask_workers, serving=True)
    local_aws = start_engine_aws(ctx, engine, aws)  # `--aws local`: moto, closed at the end
    services = [] if local_aws is None else local_aws.services()  # its ProcessQueue → intake
    from cirrostratus.engine.status import publish_status

    services = [*services, publish_status]  # .cirro/serve-status.json: the API's /metrics
    stop = asyncio.Event()
    presses = 0

    def on_signal() -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            click.echo("stopping now; running payloads resume on the next start", err=True)
            os._exit(130)
        click.echo(
            "stopping: letting running executions finish (Ctrl-C again to stop now)", err=True
        )
        stop.set()

    def ready() -> None:
        if api_server is not None:  # only once the engine holds the project
            api_server.start()  # type: ignore[attr-defined]
            click.echo(api_server.banner(), err=True)  # type: ignore[attr-defined]
        click.echo(
            f"cirro serve: project {engine.project.root}, state {engine.locations.state_db}, "
            f"{engine.concurrency} executions at once (pid {os.getpid()})",
            err=True,
        )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        report = await engine.serve(stop, ready=ready, services=services)
        counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items())) or "nothing"
        click.echo(f"stopped after {report.wall_s:.1f}s: {counts}", err=True)

    try:
        asyncio.run(main())
    except EngineBusy as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # a Dask cluster that cannot be reached or is refused
        from cirrostratus.cli.executor_options import cluster_errors

        if engine.__dict__.get("task_runtimes") is None or not isinstance(exc, cluster_errors()):
            raise
        raise CliError(str(exc), 2) from None
    finally:
        if api_server is not None:
            api_server.stop()  # type: ignore[attr-defined]
        engine.close()
