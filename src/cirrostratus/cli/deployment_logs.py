"""`cirro payload logs ID --deployment NAME`: print what CloudWatch Logs holds for a payload.

The lookups are in aws/cwlogs.py; this module only prints, in the local command's shape: a
header per execution, one per task (Lambda function or Batch job), then time and message.
"""

from __future__ import annotations

from typing import Any

import click

from cirrostratus.cli.tables import short_id


def _when(ms: int | None) -> str:
    from cirrostratus.aws.cwlogs import Line

    return Line(ms, "", "").time if ms else ""


def print_logs(name: str, record: Any, as_json: bool) -> None:
    """Each execution of `record` (oldest first) with its tasks' lines."""
    import orjson

    from cirrostratus.aws.cwlogs import payload_logs
    from cirrostratus.cli.deployments import get_deployment

    session = get_deployment(name).session()
    arns = [e.id for e in record.executions]
    results = payload_logs(session, arns, record.payload_id)
    for number, (win, sources) in enumerate(results, 1):
        if not as_json:
            click.secho(
                f"== execution {number} of {len(results)}: {win.arn}  {win.status}  "
                f"{_when(win.start_ms)} → {_when(win.stop_ms)}",
                bold=True,
            )
            if win.note:
                click.echo(f"   ({win.note})")
            if not sources and not win.note:
                click.echo("   (its workflow names no Lambda function and ran no Batch job)")
        for src in sources:
            if as_json:
                for line in src.lines:
                    row = {"execution": win.arn, "kind": src.source.kind,
                           "task": src.source.name, "group": src.source.group,
                           "stream": line.stream, "time": line.time, "message": line.message}  # fmt: skip
                    click.echo(orjson.dumps(row).decode())
                continue
            where = src.source.group + (f" {src.source.stream}" if src.source.stream else "")
            click.secho(f"-- {src.source.kind} {src.source.name}  ({where})", bold=True)
            if src.missing:
                click.echo(f"   ({src.missing})")
            elif not src.lines:
                what = "naming this payload " if src.source.kind == "lambda" else ""
                click.echo(f"   (no lines {what}while the execution ran)")
            for line in src.lines:
                click.echo(f"{line.time} [{line.stream}] {line.message}")
    if not results and not as_json:
        click.echo(f"deployment {name} has no execution of {short_id(record.payload_id)}")
