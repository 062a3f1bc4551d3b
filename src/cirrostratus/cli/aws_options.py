"""`--aws local|none` on `cirro run`, `cirro serve` and `cirro task run`.

cirro run payload.json --aws local    # tasks that call boto3 get moto's AWS (docs/local-aws.md)

`custom.cirro.aws: local` in cirrus.yml makes it the project's default; `--aws none` turns it
off for one command. Nothing of boto3 or moto is imported unless it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cirrostratus.cli.errors import CliError

F = TypeVar("F", bound=Callable[..., Any])


def aws_option(fn: F) -> F:
    """The `--aws` option, the same on every command that runs tasks."""
    return click.option(
        "--aws",
        type=click.Choice(["local", "none"]),
        default=None,
        help="`local`: start moto's AWS on a loopback port with the project's buckets, "
        "state table, queues and topics, and give tasks the environment AWS would (for task "
        "code that calls boto3 / cirrus-lib). Default: cirrus.yml's custom.cirro.aws, else none.",
    )(fn)


def start_aws(
    ctx: click.Context, project: Any, locations: Any, aws: str | None, *, quiet: bool = False
) -> Any:
    """Start the local AWS when chosen (closed when the command ends); returns it, or None.

    The caller uses `local.locations` from then on: the same folders, plus the environment
    that points task code at moto.
    """
    from cirrostratus.aws.local import AwsConfigError, chosen_aws

    try:
        mode = chosen_aws(project, aws)
    except AwsConfigError as exc:
        raise CliError(str(exc), 2) from None
    if mode != "local":
        return None
    try:
        import moto.moto_server.threaded_moto_server  # noqa: F401
    except ImportError:
        raise CliError(
            "--aws local needs moto's server and boto3: pip install 'moto[server]' boto3", 2
        ) from None
    from cirrostratus.aws.local.server import LocalAwsBusy
    from cirrostratus.aws.local.session import LocalAws

    local = LocalAws(project, locations)
    try:
        local.start()
    except LocalAwsBusy as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # moto or a file under .cirro/aws refused: one line, no traceback
        raise CliError(f"the local AWS did not start: {type(exc).__name__}: {exc}") from None
    ctx.call_on_close(local.close)
    if not quiet:
        click.echo(local.describe(), err=True)
    return local


def start_engine_aws(
    ctx: click.Context, engine: Any, aws: str | None, *, quiet: bool = False
) -> Any:
    """`start_aws` for an engine: its tasks get the local AWS's environment."""
    try:
        local = start_aws(ctx, engine.project, engine.locations, aws, quiet=quiet)
    except BaseException:
        engine.close()
        raise
    if local is not None:
        engine.locations = local.locations
        ctx.call_on_close(lambda: _keep_process_queue(local, engine))
    return local


def _keep_process_queue(local: Any, engine: Any) -> None:
    """Before moto stops (close callbacks run last-registered first): what tasks left in
    the ProcessQueue moves into the engine's intake instead of vanishing with moto. Said on
    stderr even under --quiet: it is work left, not progress."""
    from cirrostratus.aws.local.forward import hand_over
    from cirrostratus.intake import SqliteIntakeQueue

    try:  # the engine may be closed by now: its intake database is not
        intake = SqliteIntakeQueue(engine.locations.intake_db)
        try:
            moved = hand_over(local, intake)
        finally:
            intake.close()
    except Exception as exc:  # moto already gone, a full disk: say what was not kept
        click.echo(f"warning: the ProcessQueue was not kept: {type(exc).__name__}: {exc}", err=True)
        return
    if moved:
        click.echo(
            f"{moved} message(s) tasks sent to the ProcessQueue wait in the intake; "
            "`cirro serve` or the next `cirro run` runs them",
            err=True,
        )
