"""`cirro submit`: queue payloads for an engine (`cirro serve`) to run."""

from __future__ import annotations

import click

from cirrostratus.cli.local import open_engine
from cirrostratus.cli.run import gather_payloads


@click.command()
@click.argument("payloads", nargs=-1)
@click.option("--replace", is_flag=True, help="Run again payloads already COMPLETED or INVALID.")
@click.option(
    "--deployment", default=None, help="Send to a live deployment's process queue instead."
)
@click.pass_context
def submit(
    ctx: click.Context, payloads: tuple[str, ...], replace: bool, deployment: str | None = None
) -> None:
    """Send PAYLOADS (files, globs, or - for stdin) to the project's intake queue.

    A running `cirro serve` picks them up; so does the next `cirro run`. Payloads larger
    than 120 KB are stored and queued as {"url": ...}, as on AWS.
    """
    items = gather_payloads(payloads)
    if deployment:
        from cirrostratus.cli.deployments import submit_to
        from cirrostratus.cli.tables import plural

        sent = submit_to(deployment, items, replace)
        click.echo(
            f"sent {plural(len(sent), 'payload')} to deployment {deployment}'s process queue"
        )
        return
    engine = open_engine(ctx)
    try:
        ids = engine.submit(items, replace=replace)
    finally:
        engine.close()
    holder = engine.lock.holder()
    where = f"engine pid {holder} will run them" if holder else "start `cirro serve` to run them"
    from cirrostratus.cli.tables import plural

    click.echo(f"queued {plural(len(ids), 'payload')}; {where}")
