"""`cirro query`: find payloads by state, a page at a time (the filters `rerun` shares)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cirrostratus.cli.errors import CliError
from cirrostratus.cli.local import echo_json, open_state

STATES = ("CLAIMED", "PROCESSING", "COMPLETED", "FAILED", "INVALID", "ABORTED")


def check_since(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a bad --since before anything opens: a usage error (exit 2), never a traceback."""
    if value is None:
        return None
    from cirrostratus.state.model import StateStoreError, parse_since

    try:
        parse_since(value)
    except StateStoreError:
        raise click.BadParameter(
            f"{value!r} is not a duration: use a number and a unit m, h, d or w (10m, 8h, 2d, 1w)"
        ) from None
    return value


def filters(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The query options `query` and `rerun` share."""
    options = [
        click.option("--collections", "-c", help="The collections part of the payload id."),
        click.option("--workflow", "-w", help="The workflow name."),
        click.option("--state", "-s", type=click.Choice(STATES, case_sensitive=False)),
        click.option(
            "--since",
            callback=check_since,
            help="Updated within this long: 10m, 8h, 2d, 1w (with --state: entered it then).",
        ),
        click.option("--error", "error_prefix", help="last_error starts with this."),
        click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def fetch(
    store: Any, limit: int, nextkey: str | None = None, **query: Any
) -> tuple[list[Any], str | None]:
    """Up to `limit` matching records from `nextkey` on (500 a page), and the nextkey that
    continues after them (None when nothing is left)."""
    from cirrostratus.state.model import StateStoreError

    found: list[Any] = []
    while len(found) < limit:
        try:
            page = store.query(limit=min(limit - len(found), 500), nextkey=nextkey, **query)
        except (StateStoreError, ValueError) as exc:  # a bad nextkey or filter
            raise CliError(str(exc), 2) from None
        found += page.items
        nextkey = page.nextkey
        if not nextkey or not page.items:
            return found, None
    return found, nextkey


def query_args(**kw: Any) -> dict[str, Any]:
    state = kw.get("state")
    return {
        "collections": kw.get("collections"),
        "workflow": kw.get("workflow"),
        "state": state.upper() if state else None,
        "since": kw.get("since"),
        "error_prefix": kw.get("error_prefix"),
    }


def next_page_command(ctx: click.Context, args: dict[str, Any], limit: int, nextkey: str) -> str:
    """The exact command that prints the next page: same project, filters and limit."""
    import shlex

    words = ["cirro"]
    project = (ctx.obj or {}).get("project_dir")
    if project:
        words += ["--project", project]
    words.append(ctx.info_name or "query")
    flags = {"collections": "--collections", "workflow": "--workflow", "state": "--state"}
    flags |= {"since": "--since", "error_prefix": "--error"}
    for key, flag in flags.items():
        if args.get(key) is not None:
            words += [flag, str(args[key])]
    words += ["--limit", str(limit), "--nextkey", nextkey]
    return shlex.join(words)


@click.command()
@filters
@click.option(
    "--nextkey",
    help="Continue a listing where the previous page ended (its last line prints the command).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: counts, records, nextkey.")
@click.option("--counts", "counts_only", is_flag=True, help="Only the count per state.")
@click.option("--deployment", default=None, help="A live deployment (`cirro deployments add`).")
@click.pass_context
def query(
    ctx: click.Context,
    /,
    limit: int,
    nextkey: str | None,
    as_json: bool,
    counts_only: bool,
    deployment: str | None = None,
    **kw: Any,
) -> None:
    """Find payloads by collections, workflow, state, age and error, newest first.

    Lists --limit records a page; when more match, the last line is the command for the next
    page (`--nextkey`, as Cirrus's API pages). Long payload ids are shortened here; --json
    keeps them whole.
    """
    if deployment:
        from cirrostratus.cli.deployments import deployment_state

        store = deployment_state(deployment)
    else:
        store = open_state(ctx)
    args = query_args(**kw)
    counts_args = {k: v for k, v in args.items() if k != "state"}
    counts = store.counts(**counts_args)
    from cirrostratus.cli.queued import queued_count  # payloads still in the intake

    if not deployment and (queued := queued_count(ctx, counts_args)):
        counts = {"QUEUED": queued, **counts}
    if counts_only:
        echo_json(counts) if as_json else click.echo(
            "  ".join(f"{k}={v}" for k, v in counts.items())
        )
        return
    found, after = fetch(store, limit, nextkey, **args)
    if as_json:
        echo_json({"counts": counts, "items": [r.to_dict() for r in found], "nextkey": after})
        return
    from cirrostratus.cli.tables import console, plural, print_table, short_id, shorten_ids_in

    out = console()
    rows = [
        (short_id(r.payload_id), str(r.state), r.updated, shorten_ids_in(r.last_error or ""))
        for r in found
    ]
    print_table(("payload id", "state", "updated", "last error"), rows, nowrap=(0, 1, 2), out=out)
    out.print("  ".join(f"{k}={v}" for k, v in counts.items()), highlight=False)
    if after:
        out.print(
            f"{plural(len(found), 'payload')} shown; more match. Next page:\n  "
            + next_page_command(ctx, args, limit, after),
            highlight=False,
            markup=False,
        )
