"""`cirro api`: the state API and the dashboard alone, over the project's `.cirro/` state.

It reads state and queues payloads (submit, rerun) without running them: a `cirro serve`
running beside it, or the next `cirro run`, does. `cirro serve --port` serves the same API
while it drains.
"""

from __future__ import annotations

from typing import Any

import click

from cirrostratus.cli.errors import CliError
from cirrostratus.cli.local import open_engine

HOST_HELP = "Address to listen on; anything but loopback needs CIRRO_API_TOKEN set."


def api_options(fn: click.decorators.FC) -> click.decorators.FC:
    """--host, --max-body: shared with `cirro serve`."""
    fn = click.option(
        "--max-body",
        type=click.IntRange(min=1024),
        default=10 * 1024 * 1024,
        show_default=True,
        help="Largest request body in bytes (bigger ones get 413).",
    )(fn)
    return click.option("--host", default="127.0.0.1", show_default=True, help=HOST_HELP)(fn)


def _need_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:  # the api extra is missing
        raise CliError(
            f"the HTTP API needs the api extra ({exc.name} is missing): "
            "pip install 'cirrostratus[api]'"
        ) from None


def deployment_backend(name: str, token: str) -> object:
    """The API's backend over deployment `name`: its state table (and events table), its
    process queue, and Step Functions for execution inputs and outputs."""
    from cirrostratus.api.deployment import DeploymentBackend
    from cirrostratus.api.errors import NotFound
    from cirrostratus.cli.deployments import (
        deployment_intake,
        deployment_state,
        execution_payload,
        get_deployment,
        submit_to,
    )

    deployment = get_deployment(name)

    def fetch_execution(payload_id: str, which: str) -> bytes:
        try:
            return execution_payload(name, payload_id, which)
        except CliError as exc:
            raise NotFound(str(exc)) from None

    def send(payloads: list[dict[str, object]], replace: bool) -> list[str]:
        return submit_to(name, payloads, replace)

    def fetch_logs(record: Any) -> list[dict[str, Any]]:
        """Log lines shaped as the local ones (time, function, stream, message), and a
        `note` line where CloudWatch could not say (no log group, an expired execution)."""
        from cirrostratus.aws.cwlogs import payload_logs

        arns = [e.id for e in record.executions]
        rows: list[dict[str, Any]] = []
        for win, found in payload_logs(deployment.session(), arns, record.payload_id):
            base = {"execution_id": win.arn}
            if win.note:
                rows.append(
                    {**base, "time": "", "function": "", "stream": "note", "message": win.note}
                )
            for src in found:
                task = {**base, "function": src.source.name, "kind": src.source.kind}
                if src.missing:
                    rows.append({**task, "time": "", "stream": "note", "message": src.missing})
                rows += [
                    {**task, "time": line.time, "stream": line.stream, "message": line.message}
                    for line in src.lines
                ]
        return rows

    return DeploymentBackend(
        name,
        store=deployment_state(name),
        intake=deployment_intake(name),
        environment=dict(deployment.environment),
        token=token,
        fetch_execution=fetch_execution,
        send=send,
        fetch_logs=fetch_logs,
    )


def start_api(
    ctx: click.Context,
    host: str,
    port: int,
    max_body: int,
    fd: int | None = None,
    deployment: str | None = None,
) -> object:
    """An ApiServer bound and ready (see cirrostratus.api.server); a clear error otherwise."""
    _need_extra()
    import socket

    from cirrostratus.api.security import ApiRefused
    from cirrostratus.api.server import open_server

    if deployment is not None:
        from cirrostratus.cli.deployments import get_deployment

        get_deployment(deployment)  # an unknown name fails (exit 2) before binding

        def build(token: str) -> object:
            return deployment_backend(deployment, token)

        try:
            return open_server(None, host, port, max_body=max_body, backend=build)
        except ApiRefused as exc:
            raise CliError(str(exc), 2) from None
    engine = open_engine(ctx)
    sock = None if fd is None else socket.socket(fileno=fd)
    try:
        return open_server(engine, host, port, max_body=max_body, sock=sock)
    except ApiRefused as exc:
        engine.close()
        raise CliError(str(exc), 2) from None


def spawn_api(ctx: click.Context, host: str, port: int, max_body: int) -> object:
    """The API for `cirro serve --port`: bound now, served by a child process once the
    engine holds the project (`start()`), stopped with it (`stop()`)."""
    _need_extra()
    from cirrostratus.api.security import ApiRefused
    from cirrostratus.api.server import spawn_server
    from cirrostratus.cli.local import project_root

    try:
        return spawn_server(str(project_root(ctx)), host, port, max_body=max_body)
    except ApiRefused as exc:
        raise CliError(str(exc), 2) from None


@click.command()
@api_options
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="0: any free port.",
)
@click.option("--fd", type=int, default=None, hidden=True, help="Serve this bound socket.")
@click.option(
    "--deployment",
    default=None,
    help="Serve a live deployment's state (`cirro deployments add`) instead of this project's.",
)
@click.pass_context
def api(
    ctx: click.Context,
    host: str,
    port: int,
    max_body: int,
    fd: int | None,
    deployment: str | None,
) -> None:
    """Serve the state API (Cirrus's routes and more) and the dashboard at /ui.

    Reads are open; submit and rerun need `Authorization: Bearer <token>`: CIRRO_API_TOKEN,
    or a token generated now and printed. Ctrl-C stops it. With --deployment NAME it reads
    that deployment's DynamoDB state table, and submit and rerun go to its ProcessQueue.
    """
    server = start_api(ctx, host, port, max_body, fd, deployment)
    if fd is None:  # `cirro serve --port` announces its child's address itself
        click.echo(server.banner(), err=True)  # type: ignore[attr-defined]
    server.run()  # type: ignore[attr-defined]
