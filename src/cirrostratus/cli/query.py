"""`cirro query` and `cirro rerun`: find payloads by state, and run them again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cirrostratus.cli.errors import CliError
from cirrostratus.cli.local import (
    echo_json,
    load_runnable_project,
    locations,
    open_engine,
    open_state,
    project_root,
)

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


def _query_args(**kw: Any) -> dict[str, Any]:
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
@click.pass_context
def query(
    ctx: click.Context,
    /,
    limit: int,
    nextkey: str | None,
    as_json: bool,
    counts_only: bool,
    **kw: Any,
) -> None:
    """Find payloads by collections, workflow, state, age and error, newest first.

    Lists --limit records a page; when more match, the last line is the command for the next
    page (`--nextkey`, as Cirrus's API pages). Long payload ids are shortened here; --json
    keeps them whole.
    """
    store = open_state(ctx)
    args = _query_args(**kw)
    counts_args = {k: v for k, v in args.items() if k != "state"}
    counts = store.counts(**counts_args)
    from cirrostratus.cli.queued import queued_count  # payloads still in the intake

    if queued := queued_count(ctx, counts_args):
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


def read_inputs(store: Any, found: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The stored input payload of each record, and (payload id, why) for those that cannot
    run again. The dry run and the real rerun both call this, so they never disagree."""
    from cirrostratus.engine.process import input_key
    from cirrostratus.payload import decode
    from cirrostratus.storage import StoreError

    payloads: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    for r in found:
        try:
            data = store.get_bytes(input_key(r.payload_id))
        except StoreError:
            skipped.append((r.payload_id, "its stored input is missing"))
            continue
        except OSError as exc:
            skipped.append((r.payload_id, f"its stored input cannot be read ({exc})"))
            continue
        try:
            payloads.append(decode(data))
        except Exception as exc:  # any decoding failure: name it, skip this one
            skipped.append((r.payload_id, f"its stored input is not a payload ({exc})"))
    return payloads, skipped


@click.command()
@filters
@click.option(
    "--dry-run",
    is_flag=True,
    help="List what would run again and what would be skipped; change nothing.",
)
@click.option("--submit", "submit_only", is_flag=True, help="Only queue them (for `cirro serve`).")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Executions in flight at once (default: 64 per core).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (as `cirro run --json`)."
)
@click.pass_context
def rerun(
    ctx: click.Context,
    /,
    limit: int,
    dry_run: bool,
    submit_only: bool,
    concurrency: int | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Run matching payloads again from their stored input, with replace.

    Typical: `cirro rerun --state FAILED --since 1d`. Without --submit they run here and
    now, like `cirro run`; exit 0 when all of them end COMPLETED, 1 when any fails or is
    skipped because its stored input is missing or unreadable.
    """
    from cirrostratus.cli.tables import plural, short_id
    from cirrostratus.storage import open_store

    args = _query_args(**kw)
    if not any(args.values()):
        raise CliError(
            "say what to rerun: give at least one of --state, --workflow, "
            "--collections, --since, --error",
            2,
        )
    # a project that does not load is refused before anything (a dry run needs no project)
    project = None if dry_run else load_runnable_project(project_root(ctx))
    store = open_state(ctx)
    found, _ = fetch(store, limit, **args)
    payloads, skipped = read_inputs(open_store(locations(ctx).payload_url), found)
    unreadable = [{"payload_id": pid, "reason": why} for pid, why in skipped]
    if dry_run or not found:
        ready = [r for r in found if r.payload_id not in {pid for pid, _ in skipped}]
        if as_json:
            echo_json(
                {
                    "would_run": [
                        {"payload_id": r.payload_id, "state": str(r.state)} for r in ready
                    ],
                    "would_skip": unreadable,
                }
            )
        else:
            for r in ready:
                click.echo(f"{short_id(r.payload_id)}  {r.state}  {r.last_error or ''}")
            for pid, why in skipped:
                click.echo(f"{short_id(pid)}  would be skipped: {why}")
            if not found:
                click.echo("nothing matches")
            else:
                tail = f"; {len(skipped)} would be skipped" if skipped else ""
                click.echo(f"{plural(len(ready), 'payload')} would run again{tail}")
        return
    for pid, why in skipped:
        click.echo(f"skipping {short_id(pid)}: {why}", err=True)
    engine = open_engine(ctx, project, concurrency=concurrency)
    if submit_only:
        try:
            engine.submit(payloads, replace=True)
        finally:
            engine.close()
        click.echo(f"queued {plural(len(payloads), 'payload')} to run again")
        ctx.exit(1 if skipped else 0)
    if not payloads:
        engine.close()
        raise CliError(
            f"none of the matching payloads ({len(found)}) can run again: "
            "their stored input is missing or unreadable"
        )
    from cirrostratus.cli.run import Progress, print_summary, run_engine

    with Progress(enabled=not as_json) as progress:
        report = run_engine(engine, payloads, True, progress)
    if as_json:
        echo_json({**report.to_json(), "skipped_unreadable": unreadable})
    else:
        print_summary(report)
        if skipped:
            click.echo(
                f"{plural(len(skipped), 'payload')} skipped: stored input unreadable (above)"
            )
    ctx.exit(report.exit_code or (1 if skipped else 0))
