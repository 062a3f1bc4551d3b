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


def message_ids(ids: tuple[str, ...]) -> list[str] | None:
    """The IDS argument of redrive/purge: message ids as `deadletters list` prints them
    (numbers); anything else is a usage error. None (no IDS) means all."""
    bad = [i for i in ids if not i.isdigit()]
    if bad:
        raise click.BadParameter(
            f"{bad[0]!r} is not a dead letter id; ids are the numbers in the first column of "
            "`cirro deadletters list`",
            param_hint="IDS",
        )
    return list(ids) or None


@deadletters.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
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
    from cirrostratus.cli.tables import plural, print_table, shorten_ids_in

    rows = [
        (
            d.id,
            datetime.fromtimestamp(d.dead_at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            str(d.receive_count),
            shorten_ids_in(d.error or ""),
        )
        for d in letters
    ]
    print_table(("id", "dead since (UTC)", "receives", "error"), rows, nowrap=(0, 1, 2))
    click.echo(
        f"{plural(len(letters), 'dead letter')}; `cirro deadletters redrive [ID...]` sends "
        "them back to the intake"
    )


@deadletters.command()
@click.argument("ids", nargs=-1)
@click.pass_context
def redrive(ctx: click.Context, ids: tuple[str, ...]) -> None:
    """Send dead letters (all, or the IDS given) back to the intake queue."""
    from cirrostratus.cli.tables import plural

    wanted = message_ids(ids)
    count = _queue(ctx).redrive(wanted)
    click.echo(f"redrove {plural(count, 'message')} to the intake queue")
    if wanted and count < len(wanted):
        click.echo(f"{len(wanted) - count} of the ids given are not dead letters", err=True)


@deadletters.command()
@click.argument("ids", nargs=-1)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def purge(ctx: click.Context, ids: tuple[str, ...], yes: bool) -> None:
    """Delete dead letters (all, or the IDS given) for good."""
    from cirrostratus.cli.tables import plural

    wanted = message_ids(ids)
    if not yes and not wanted:
        import sys

        if not sys.stdin.isatty():  # nobody to ask: say how, rather than abort silently
            raise click.UsageError("deleting every dead letter needs --yes (or give IDS)")
        click.confirm("Delete every dead letter?", abort=True)
    count = _queue(ctx).purge_dead(wanted)
    click.echo(f"deleted {plural(count, 'dead letter')}")
