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


def _row(win: Any, src: Any, line: Any) -> str:
    import orjson

    return orjson.dumps({"execution": win.arn, "kind": src.source.kind, "task": src.source.name,
                         "group": src.source.group, "stream": line.stream, "time": line.time,
                         "message": line.message}).decode()  # fmt: skip


def print_logs(
    name: str, record: Any, as_json: bool, *, follow: bool = False, poll: float = 2.0
) -> None:
    """Each execution of `record` (oldest first) with its tasks' lines; with `follow`, then
    the new lines of the latest execution until it stops."""

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
                    click.echo(_row(win, src, line))
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
    if follow and results:
        _follow(session, record.payload_id, results[-1], as_json, poll)


def _follow(session: Any, payload_id: str, last: Any, as_json: bool, poll: float) -> None:
    """Print the latest execution's new lines (`time task [stream] message`) every `poll`
    seconds while it runs, and once more after it stopped."""
    import time
    from dataclasses import replace

    from cirrostratus.aws.cwlogs import read, sources, window

    win, found = last
    seen = {(f.source.group, ln.stream, ln.time_ms, ln.message) for f in found for ln in f.lines}
    since = max([ln.time_ms for f in found for ln in f.lines], default=win.start_ms)
    sfn, logs = session.client("stepfunctions"), session.client("logs")
    while win.stop_ms is None and not win.note:
        time.sleep(poll)
        win = window(sfn, win.arn)
        new = []
        for source in sources(session, win):
            got = read(logs, source, replace(win, start_ms=since), payload_id)
            new += [(got, ln) for ln in got.lines
                    if (source.group, ln.stream, ln.time_ms, ln.message) not in seen]  # fmt: skip
        for got, line in sorted(new, key=lambda pair: pair[1].time_ms):
            seen.add((got.source.group, line.stream, line.time_ms, line.message))
            since = max(since, line.time_ms)
            if as_json:
                click.echo(_row(win, got, line))
            else:
                click.echo(f"{line.time} {got.source.name} [{line.stream}] {line.message}")
    if not as_json:
        click.secho(f"== {win.arn}  {win.status}  {_when(win.stop_ms)}", bold=True)
