"""`cirro payload get|state|logs ID`: one payload's input, output, state, timings and logs."""

from __future__ import annotations

from typing import Any

import click

from cirrostratus.cli import AliasedGroup
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.local import echo_json, locations, open_state, write_file
from cirrostratus.cli.tables import short_id


def _store(ctx: click.Context) -> Any:
    from cirrostratus.storage import open_store

    return open_store(locations(ctx).payload_url)


def whole_id(ctx: click.Context, param: click.Parameter, given: str) -> str:
    """PAYLOAD_ID as given, or, for a short id copied from a table (`prefix…[N items,
    #digest]`), the whole id it stands for: nobody types an id of tens of KB."""
    from cirrostratus.cli.tables import matches_short_id, parse_short_id

    parsed = parse_short_id(given)
    if parsed is None:
        return given
    prefix, digest = parsed
    collections, sep, rest = prefix.partition("/workflow-")
    workflow, slash, _ = rest.partition("/")
    narrow = {"collections": collections, "workflow": workflow} if sep and slash else {}
    for record in open_state(ctx).iter_query(**narrow, limit=500):
        if matches_short_id(record.payload_id, prefix, digest):
            return str(record.payload_id)
    raise CliError(f"no payload matches the short id {given!r} (see `cirro query`)")


def _record(ctx: click.Context, payload_id: str, deployment: str | None = None) -> Any:
    if deployment:
        from cirrostratus.cli.deployments import deployment_state

        record = deployment_state(deployment).get(payload_id)
    else:
        record = open_state(ctx).get(payload_id)
    if record is None:
        raise CliError(f"no payload with id {short_id(payload_id)!r} (see `cirro query`)")
    return record


@click.group(cls=AliasedGroup)
def payload() -> None:
    """Look at one payload: its stored input or output, state and history, logs."""


@payload.command()
@click.argument("payload_id")
@click.option("--output", "which", flag_value="output", help="The output payload.")
@click.option("--input", "which", flag_value="input", default=True, help="The input (default).")
@click.option(
    "--execution",
    "which",
    flag_value="execution",
    help="With --deployment: the latest execution as Step Functions describes it.",
)
@click.option("--file", "-f", "target", type=click.Path(dir_okay=False), help="Write it here.")
@click.option(
    "--deployment",
    default=None,
    help="A live deployment: the latest execution's input or output, from Step Functions.",
)
@click.pass_context
def get(
    ctx: click.Context,
    payload_id: str,
    which: str,
    target: str | None,
    deployment: str | None = None,
) -> None:
    """Print the stored input (or --output) payload of PAYLOAD_ID (or, on a deployment, its
    latest --execution)."""
    from cirrostratus.storage import StoreError, payload_key

    if deployment:
        from cirrostratus.cli.deployments import execution_payload

        data = execution_payload(deployment, payload_id, which)
    elif which == "execution":
        raise CliError(
            "--execution reads Step Functions: give --deployment NAME "
            "(locally, `cirro payload state` lists the executions)",
            2,
        )
    else:
        payload_id = whole_id(ctx, None, payload_id)  # type: ignore[arg-type]
        key = payload_key(payload_id, f"{which}.json")
        try:
            data = _store(ctx).get_bytes(key)
        except StoreError:
            hint = " (it has not completed)" if which == "output" else ""
            raise CliError(f"no stored {which} for {short_id(payload_id)!r}{hint}") from None
    if target:
        write_file(target, data)
        click.echo(f"wrote {target}")
    else:
        import orjson

        click.echo(orjson.dumps(orjson.loads(data), option=orjson.OPT_INDENT_2).decode())


@payload.command()
@click.argument("payload_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--deployment", default=None, help="A live deployment (`cirro deployments add`).")
@click.pass_context
def state(
    ctx: click.Context, payload_id: str, as_json: bool, deployment: str | None = None
) -> None:
    """The record of PAYLOAD_ID: state, executions with per-state timings, error, outputs."""
    from cirrostratus.cli.queued import describe, waiting
    from cirrostratus.engine.history import HistoryStore

    if deployment:
        _deployed_state(payload_id, as_json, deployment)
        return
    payload_id = whole_id(ctx, None, payload_id)  # type: ignore[arg-type]
    queued = waiting(ctx, payload_id)  # a message for it still waits in the intake
    try:
        record = _record(ctx, payload_id)
    except CliError:
        if queued is None:
            raise
        if as_json:
            echo_json({"payload_id": payload_id, "state": "QUEUED", "queued": queued.to_dict()})
        else:
            click.echo(f"{short_id(payload_id)}\n  state:    " + click.style("QUEUED", bold=True))
            click.echo(f"  queued:   {describe(queued)}")
        return
    histories = HistoryStore(locations(ctx).root / "history.db")
    data = record.to_dict()
    if queued is not None:
        data["queued"] = queued.to_dict()
    for execution in data["executions"]:
        execution["states"] = (histories.get(execution["id"]) or {}).get("states", [])
    histories.close()
    if as_json:
        echo_json(data)
        return
    colour = {"COMPLETED": "green", "FAILED": "red", "INVALID": "yellow"}.get(data["state"])
    click.echo(short_id(data["payload_id"]))
    click.echo("  state:    " + click.style(data["state"], fg=colour, bold=True))
    click.echo(f"  created:  {data['created']}\n  updated:  {data['updated']}")
    if data["last_error"]:
        click.echo("  error:    " + click.style(data["last_error"], fg="red"))
    if queued is not None:
        click.echo(f"  queued:   to run again, {describe(queued)}")
    for url in data["outputs"]:
        click.echo(f"  output:   {url}")
    for execution in data["executions"]:
        click.echo(
            f"  execution {execution['id']}  {execution['status']}  "
            f"{execution.get('start') or ''} → {execution.get('end') or ''}"
        )
        for s in execution["states"]:
            took = "—" if s["seconds"] is None else f"{s['seconds'] * 1000:.1f} ms"
            click.echo(f"      {s['state']:<32} {s['type']:<9} {took}")


def _deployed_state(payload_id: str, as_json: bool, deployment: str) -> None:
    """A live deployment's record of `payload_id` (Cirrus's state table): no local history."""
    data = _record(click.get_current_context(), payload_id, deployment).to_dict()
    if as_json:
        echo_json(data)
        return
    click.echo(data["payload_id"])
    click.echo(f"  state:    {data['state']}")
    click.echo(f"  created:  {data['created']}\n  updated:  {data['updated']}")
    if data["last_error"]:
        click.echo(f"  error:    {data['last_error']}")
    for url in data["outputs"]:
        click.echo(f"  output:   {url}")
    for execution in data["executions"]:
        click.echo(f"  execution {execution['id']}  {execution['status']}")


def _local_id(ctx: click.Context, param: click.Parameter, given: str) -> str:
    """A short id is expanded from the local state; a deployment's ids are taken as given."""
    if ctx.params.get("deployment"):
        return given
    return whole_id(ctx, param, given)


@payload.command()
@click.argument("payload_id", callback=_local_id)
@click.option("--json", "as_json", is_flag=True, help="JSON lines, as stored.")
@click.option(
    "--deployment",
    default=None,
    is_eager=True,
    help="A live deployment: the lines its Lambdas and Batch jobs wrote to CloudWatch Logs.",
)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="With --deployment: then print the latest execution's new lines until it stops.",
)
@click.option("--poll", type=float, default=2.0, show_default=True, help="--follow's interval (s).")
@click.pass_context
def logs(
    ctx: click.Context,
    payload_id: str,
    as_json: bool,
    deployment: str | None = None,
    follow: bool = False,
    poll: float = 2.0,
) -> None:
    """Everything the tasks of PAYLOAD_ID's executions wrote (stdout, stderr, logging).

    With --deployment: from CloudWatch Logs, each execution's Lambda lines that name the
    payload id and its Batch jobs' log streams, within the execution's start and stop.
    """
    import orjson

    from cirrostratus.runtime.logs import read_logs

    if deployment:
        from cirrostratus.cli.deployment_logs import print_logs

        print_logs(
            deployment, _record(ctx, payload_id, deployment), as_json, follow=follow, poll=poll
        )
        return
    if follow:
        raise CliError("--follow reads CloudWatch Logs: give --deployment NAME", 2)
    record = _record(ctx, payload_id)
    logs_dir = locations(ctx).logs_dir
    found = 0
    executions = sorted(record.executions, key=lambda e: e.start or "")  # newest last
    for number, execution in enumerate(executions, 1):
        lines = sorted(read_logs(logs_dir, execution_id=execution.id), key=lambda r: r["time"])
        found += len(lines)
        if as_json:
            for line in lines:
                click.echo(orjson.dumps(line).decode())
            continue
        click.secho(
            f"== execution {number} of {len(executions)}: {execution.id}  {execution.status}  "
            f"{execution.start or ''} → {execution.end or ''}",
            bold=True,
        )
        for line in lines:
            click.echo(
                f"{line['time']} {line.get('function', '')} [{line.get('stream', '')}] "
                f"{line.get('message', '').rstrip()}"
            )
        if not lines:
            click.echo("   (no task output recorded)")
    if not found and not as_json:
        click.echo(f"no task output recorded for {short_id(payload_id)}")
