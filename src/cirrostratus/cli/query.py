"""`cirro query` and `cirro rerun`: find payloads by state, and run them again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import click

from cirrostratus.cli.errors import CliError
from cirrostratus.cli.local import echo_json, open_engine, open_state

STATES = ("CLAIMED", "PROCESSING", "COMPLETED", "FAILED", "INVALID", "ABORTED")


def filters(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The query options `query` and `rerun` share."""
    options = [
        click.option("--collections", "-c", help="The collections part of the payload id."),
        click.option("--workflow", "-w", help="The workflow name."),
        click.option("--state", "-s", type=click.Choice(STATES, case_sensitive=False)),
        click.option("--since", help="Updated within this long: 10m, 8h, 2d, 1w."),
        click.option("--error", "error_prefix", help="last_error starts with this."),
        click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def records(store: Any, limit: int, **query: Any) -> Iterator[Any]:
    """Every matching record up to `limit`, following nextkey across pages."""
    nextkey = None
    left = limit
    while left > 0:
        try:
            page = store.query(limit=min(left, 500), nextkey=nextkey, **query)
        except ValueError as exc:
            raise CliError(str(exc), 2) from None
        yield from page.items
        left -= len(page.items)
        nextkey = page.nextkey
        if not nextkey or not page.items:
            return


def _query_args(**kw: Any) -> dict[str, Any]:
    state = kw.get("state")
    return {
        "collections": kw.get("collections"),
        "workflow": kw.get("workflow"),
        "state": state.upper() if state else None,
        "since": kw.get("since"),
        "error_prefix": kw.get("error_prefix"),
    }


@click.command()
@filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object: counts and records.")
@click.option("--counts", "counts_only", is_flag=True, help="Only the count per state.")
@click.pass_context
def query(ctx: click.Context, /, limit: int, as_json: bool, counts_only: bool, **kw: Any) -> None:
    """Find payloads by collections, workflow, state, age and error, newest first."""
    store = open_state(ctx)
    args = _query_args(**kw)
    counts_args = {k: v for k, v in args.items() if k != "state"}
    try:
        counts = store.counts(**counts_args)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    from cirrostratus.cli.queued import queued_count  # payloads still in the intake

    if queued := queued_count(ctx, counts_args):
        counts = {"QUEUED": queued, **counts}
    if counts_only:
        echo_json(counts) if as_json else click.echo(
            "  ".join(f"{k}={v}" for k, v in counts.items())
        )
        return
    found = list(records(store, limit, **args))
    if as_json:
        echo_json({"counts": counts, "items": [r.to_dict() for r in found]})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in ("payload id", "state", "updated", "last error"):
        table.add_column(col, overflow="fold")
    for r in found:
        table.add_row(r.payload_id, str(r.state), r.updated, r.last_error or "")
    console = Console()
    console.print(table)
    console.print("  ".join(f"{k}={v}" for k, v in counts.items()))


@click.command()
@filters
@click.option("--dry-run", is_flag=True, help="List what would run again; change nothing.")
@click.option("--submit", "submit_only", is_flag=True, help="Only queue them (for `cirro serve`).")
@click.pass_context
def rerun(ctx: click.Context, /, limit: int, dry_run: bool, submit_only: bool, **kw: Any) -> None:
    """Run matching payloads again from their stored input, with replace.

    Typical: `cirro rerun --state FAILED --since 1d`. Without --submit they run here and
    now, like `cirro run`; exit 0 when all of them end COMPLETED.
    """
    args = _query_args(**kw)
    if not any(args.values()):
        raise CliError(
            "say what to rerun: give at least one of --state, --workflow, "
            "--collections, --since, --error",
            2,
        )
    store = open_state(ctx)
    found = list(records(store, limit, **args))
    if dry_run or not found:
        for r in found:
            click.echo(f"{r.payload_id}  {r.state}  {r.last_error or ''}")
        click.echo(f"{len(found)} payload(s) would run again" if dry_run else "nothing matches")
        return
    engine = open_engine(ctx)
    from cirrostratus.engine.process import input_key
    from cirrostratus.payload import decode

    payloads = []
    for r in found:
        try:
            payloads.append(decode(engine.payloads.get_bytes(input_key(r.payload_id))))
        except Exception as exc:
            click.echo(
                f"skipping {r.payload_id}: its stored input cannot be read ({exc})", err=True
            )
    if submit_only:
        engine.submit(payloads, replace=True)
        click.echo(f"queued {len(payloads)} payload(s) to run again")
        return
    from cirrostratus.cli.run import Progress, print_summary, run_engine

    with Progress(enabled=True) as progress:
        report = run_engine(engine, payloads, True, progress)
    print_summary(report)
    ctx.exit(report.exit_code)
