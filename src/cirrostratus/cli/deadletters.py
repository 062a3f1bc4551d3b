"""`cirro deadletters`: payloads the intake gave up on, and sending them back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from cirrostratus.cli import AliasedGroup
from cirrostratus.cli.local import echo_json, locations

if TYPE_CHECKING:
    from cirrostratus.intake import SqliteIntakeQueue


def _queue(ctx: click.Context) -> SqliteIntakeQueue:
    from cirrostratus.intake import SqliteIntakeQueue

    return SqliteIntakeQueue(locations(ctx).intake_db)


@click.group(cls=AliasedGroup)
def deadletters() -> None:
    """Messages that could not be processed (invalid payloads, repeated failures)."""


@deadletters.command("list")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every dead letter.")
@click.pass_context
def list_(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List dead letters with the error that put them there."""
    queue = _queue(ctx)
    letters = queue.dead_letters(limit=limit)
    if as_json:
        echo_json(
            [
                {
                    "id": d.id,
                    "error": d.error,
                    "receive_count": d.receive_count,
                    "dead_at": datetime.fromtimestamp(d.dead_at, UTC).isoformat(),
                    "body": d.text,
                }
                for d in letters
            ]
        )
        return
    if not letters:
        click.echo("no dead letters")
        return
    for d in letters:
        when = datetime.fromtimestamp(d.dead_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{d.id}  {when}  received {d.receive_count}x  {d.error}")


@deadletters.command()
@click.argument("ids", nargs=-1)
@click.pass_context
def redrive(ctx: click.Context, ids: tuple[str, ...]) -> None:
    """Send dead letters (all, or the IDS given) back to the intake queue."""
    count = _queue(ctx).redrive(list(ids) or None)
    click.echo(f"redrove {count} message(s) to the intake queue")


@deadletters.command()
@click.argument("ids", nargs=-1)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def purge(ctx: click.Context, ids: tuple[str, ...], yes: bool) -> None:
    """Delete dead letters (all, or the IDS given) for good."""
    if not yes and not ids:
        click.confirm("Delete every dead letter?", abort=True)
    count = _queue(ctx).purge_dead(list(ids) or None)
    click.echo(f"deleted {count} dead letter(s)")
