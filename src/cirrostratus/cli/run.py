"""`cirro run`: run payloads through their workflows on this machine, to a terminal state."""

from __future__ import annotations

import asyncio
import glob
import os
import sys
import time
from typing import Any

import click

from cirrostratus.cli.errors import CliError


def gather_payloads(sources: tuple[str, ...]) -> list[dict[str, Any]]:
    """Payload dicts from files, globs and stdin; any unreadable source is a usage error (2)."""
    from cirrostratus.payload import PayloadError, load_payloads

    if not sources:
        if sys.stdin.isatty():
            raise CliError("give payload files, globs, or '-' to read payloads from stdin", 2)
        sources = ("-",)
    paths: list[str] = []
    for source in sources:
        if source == "-" or os.path.exists(source):
            paths.append(source)
            continue
        matches = sorted(glob.glob(source))
        if not matches:
            raise CliError(f"{source}: no such file (and no file matches it as a glob)", 2)
        paths.extend(matches)
    payloads: list[dict[str, Any]] = []
    for path in paths:
        try:
            payloads.extend(load_payloads(path))
        except PayloadError as exc:
            raise CliError(str(exc), 2) from None
        except OSError as exc:
            raise CliError(f"{path}: cannot be read ({exc.strerror or exc})", 2) from None
    if not payloads:
        raise CliError("no payloads found in the given input", 2)
    return payloads


class Progress:
    """A rich progress bar on a terminal; a line every second otherwise (CI logs, pipes)."""

    def __init__(self, enabled: bool) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled
        self.live = enabled and self.console.is_terminal
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0

    def __enter__(self) -> Progress:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]running"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("run", total=None, counts="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def update(self, done: int, total: int, counts: dict[str, int]) -> None:
        if not self.enabled:
            return
        text = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total, counts=text)
            return
        now = time.monotonic()
        if now - self._last >= 1.0 or done == total:
            self._last = now
            self.console.print(f"{done}/{total} done  {text}", highlight=False)


def print_summary(report: Any, limit: int = 30) -> None:
    """The table: every payload that did not complete (up to `limit`), then completed ones
    up to a handful; the counts and the rate last."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    records = list(report.records.values())
    table = Table(title=None, show_lines=False)
    table.add_column("payload id", overflow="fold", ratio=3)
    table.add_column("workflow", overflow="fold", ratio=1)
    table.add_column("state", no_wrap=True)
    table.add_column("duration", no_wrap=True, justify="right")
    table.add_column("error", overflow="fold", ratio=2)
    colours = {"COMPLETED": "green", "FAILED": "red", "INVALID": "yellow", "ABORTED": "magenta"}
    shown = [r for r in records if r.state != "COMPLETED"][:limit]
    shown += [r for r in records if r.state == "COMPLETED"][: max(0, min(10, limit - len(shown)))]
    for r in shown:
        colour = colours.get(r.state, "white")
        state = f"[{colour}]{r.state}[/]" + (" (skipped)" if r.skipped else "")
        duration = "" if r.duration_s is None else f"{r.duration_s:.2f}s"
        table.add_row(r.payload_id, r.workflow, state, duration, r.error or "")
    console.print(table)
    if len(records) > len(shown):
        console.print(f"... and {len(records) - len(shown)} more (use --json for all)")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items()))
    rate = len(records) / report.wall_s if report.wall_s else 0.0
    console.print(
        f"[bold]{len(records)} payloads[/]: {counts} in {report.wall_s:.2f}s ({rate:.0f}/s)"
    )


def run_engine(engine: Any, items: list[dict[str, Any]], replace: bool, progress: Progress) -> Any:
    """Run to the end here — or, when `cirro serve` runs the project, hand the payloads to it
    and follow them to the end."""
    from cirrostratus.engine.handoff import hand_over
    from cirrostratus.engine.lock import EngineBusy

    try:
        return asyncio.run(engine.run(items, replace=replace, progress=progress.update))
    except EngineBusy:
        click.echo(
            f"engine pid {engine.lock.holder()} is serving this project: handing the "
            "payloads to it and following them",
            err=True,
        )
        return hand_over(engine, items, replace=replace, progress=progress.update)
    finally:
        engine.close()


@click.command()
@click.argument("payloads", nargs=-1)
@click.option("--replace", is_flag=True, help="Run again payloads already COMPLETED or INVALID.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Executions in flight at once (default: 64 per core).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every record.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.pass_context
def run(
    ctx: click.Context,
    payloads: tuple[str, ...],
    replace: bool,
    concurrency: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run PAYLOADS (files, globs, or - for stdin) through their workflows, here and now.

    Each input may hold one payload, a JSON list of payloads, or JSON lines. Chained payloads
    (a `process` list) run too. Exit 0 when every payload ends COMPLETED, 1 otherwise,
    2 for usage errors.
    """
    from cirrostratus.cli.local import open_engine

    items = gather_payloads(payloads)
    engine = open_engine(ctx, concurrency=concurrency)
    with Progress(enabled=not quiet and not as_json) as progress:
        report = run_engine(engine, items, replace, progress)
    if as_json:
        import orjson

        click.echo(orjson.dumps(report.to_json()).decode())
    else:
        print_summary(report)
        from urllib.parse import unquote

        data = engine.locations.data_url
        where = unquote(data.removeprefix("file://")) if data.startswith("file://") else data
        click.echo(f"state: {engine.locations.state_db}   published items: {where}")
    ctx.exit(report.exit_code)
