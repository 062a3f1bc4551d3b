"""`cirro rerun`: run payloads again from their stored input, with replace."""

from __future__ import annotations

from typing import Any

import click

from cirrostratus.cli.aws_options import aws_option, start_engine_aws
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.local import (
    echo_json,
    load_runnable_project,
    locations,
    open_engine,
    open_state,
    project_root,
)
from cirrostratus.cli.query import fetch, filters, query_args


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
@aws_option
@click.option(
    "--deployment",
    default=None,
    help="A live deployment: send the matching payloads' inputs to its process queue.",
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
    aws: str | None,
    deployment: str | None = None,
    **kw: Any,
) -> None:
    """Run matching payloads again from their stored input, with replace.

    Typical: `cirro rerun --state FAILED --since 1d`. Without --submit they run here and
    now, like `cirro run`; exit 0 when all of them end COMPLETED, 1 when any fails or is
    skipped because its stored input is missing or unreadable.
    """
    from cirrostratus.cli.tables import plural, short_id
    from cirrostratus.storage import open_store

    args = query_args(**kw)
    if not any(args.values()):
        raise CliError(
            "say what to rerun: give at least one of --state, --workflow, "
            "--collections, --since, --error",
            2,
        )
    if deployment:
        from cirrostratus.cli.deployments import rerun_on

        ctx.exit(rerun_on(deployment, limit, args, dry_run=dry_run, as_json=as_json))
    # a project that does not load is refused before anything (a dry run needs no project)
    project = None if dry_run else load_runnable_project(project_root(ctx))
    store = open_state(ctx)
    found, _ = fetch(store, limit, **args)
    from cirrostratus.engine.process import read_inputs

    store = open_store(locations(ctx).payload_url)
    payloads, skipped = read_inputs(store, [r.payload_id for r in found])
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
    if not payloads:
        raise CliError(
            f"none of the matching payloads ({len(found)}) can run again: "
            "their stored input is missing or unreadable"
        )
    engine = open_engine(ctx, project, concurrency=concurrency)
    if submit_only:
        try:
            engine.submit(payloads, replace=True)
        finally:
            engine.close()
        click.echo(f"queued {plural(len(payloads), 'payload')} to run again")
        ctx.exit(1 if skipped else 0)
    from cirrostratus.cli.run import Progress, print_summary, run_engine

    start_engine_aws(ctx, engine, aws, quiet=as_json)  # `--aws local`, as `cirro run`
    with Progress(enabled=not as_json) as progress:
        report = run_engine(engine, payloads, True, progress)
    if as_json:
        echo_json({**report.to_json(), "skipped_unreadable": unreadable})
    else:
        print_summary(report)
        if skipped:
            click.echo(
                f"{plural(len(skipped), 'payload')} skipped: stored input missing or "
                "unreadable (listed above)"
            )
    ctx.exit(report.exit_code or (1 if skipped else 0))
