"""`cirro run`: run payloads through their workflows on this machine, to a terminal state."""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

import click

from cirrostratus.cli.aws_options import aws_option, start_engine_aws
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.executor_options import executor_options
from cirrostratus.cli.task_env import no_task_envs_option, prepare_or_fail


def payload_paths(sources: tuple[str, ...]) -> list[str]:
    """The files (or '-') `sources` name, globs expanded; a missing one is a usage error (2)."""
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
    return paths


def gather_payloads(sources: tuple[str, ...]) -> list[dict[str, Any]]:
    """Payload dicts from files, globs and stdin; any unreadable source is a usage error (2)."""
    payloads = list(PayloadSource(sources))
    if not payloads:
        raise CliError("no payloads found in the given input", 2)
    return payloads


class PayloadSource:
    """Payloads from files, globs and stdin, read as they are submitted, so a run of 100,000
    payloads never holds them all (JSON lines are read a line at a time).

    `check()` reads everything once first and counts it: a broken input is refused (exit 2)
    before anything is queued. stdin, which cannot be read twice, is copied to an unnamed
    temporary file as it is first read, and both passes read that.
    """

    def __init__(self, sources: tuple[str, ...]) -> None:
        self.paths = payload_paths(sources)
        self._stdin: IO[bytes] | None = None

    def check(self) -> int:
        """How many payloads there are; any unreadable source is a usage error (2)."""
        count = sum(1 for _ in self)
        if not count:
            raise CliError("no payloads found in the given input", 2)
        return count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for path in self.paths:
            if path == "-":
                yield from _stream_lines(self._spooled_stdin(), "<stdin>")
            else:
                yield from _stream(path)

    def _spooled_stdin(self) -> IO[bytes]:
        if self._stdin is None:
            # kept open for the second pass; the file has no name and goes when closed
            self._stdin = tempfile.TemporaryFile()  # noqa: SIM115
            shutil.copyfileobj(sys.stdin.buffer, self._stdin)
        self._stdin.seek(0)
        return self._stdin


def _load(source: str | bytes, name: str | None = None) -> list[dict[str, Any]]:
    from cirrostratus.payload import PayloadError, load_payloads

    try:
        return load_payloads(source)
    except PayloadError as exc:
        raise CliError(str(exc.with_source(name)), 2) from None
    except OSError as exc:
        raise CliError(f"{name or source!s}: cannot be read ({exc.strerror or exc})", 2) from None


def _stream(path: str) -> Iterator[dict[str, Any]]:
    """The payloads of one file (see `_stream_lines`)."""
    try:
        with open(path, "rb") as fh:
            yield from _stream_lines(fh, path)
    except OSError as exc:
        raise CliError(f"{path}: cannot be read ({exc.strerror or exc})", 2) from None


def _stream_lines(fh: IO[bytes], name: str) -> Iterator[dict[str, Any]]:
    """The payloads of an open file: JSON lines one line at a time (input whose first line
    is a whole JSON object and that has more lines), any other JSON as one document."""
    import orjson

    first = fh.readline()
    rest = fh.readline()
    lines = False
    if rest.strip() and first.strip():
        try:
            lines = isinstance(orjson.loads(first), dict)
        except orjson.JSONDecodeError:
            lines = False
    if not lines:
        yield from _load(first + rest + fh.read(), name)
        return
    for number, line in enumerate(itertools.chain((first, rest), fh), start=1):
        if line.strip():
            yield from _load(line, f"{name} line {number}")


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
        self.stop()

    def stop(self) -> None:
        """End the bar (before a message is printed below it)."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

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
    up to a handful; the counts and the rate last, then a line each for what the engine ran
    besides this run's payloads, what is left queued, and what `--replace` would run again."""
    from rich.table import Table

    from cirrostratus.cli.tables import console as make_console
    from cirrostratus.cli.tables import short_id, shorten_ids_in

    console = make_console()  # terminal width; unlimited on a pipe (rows never break)
    records = report.records.values()
    table = Table(title=None, show_lines=False)
    table.add_column("payload id", no_wrap=True)  # short_id: copyable, never folded
    table.add_column("workflow", overflow="fold", ratio=1)
    table.add_column("state", no_wrap=True)
    table.add_column("duration", no_wrap=True, justify="right")
    table.add_column("error", overflow="fold", ratio=2)
    colours = {"COMPLETED": "green", "FAILED": "red", "INVALID": "yellow", "ABORTED": "magenta"}
    shown = list(itertools.islice((r for r in records if r.state != "COMPLETED"), limit))
    room = max(0, min(10, limit - len(shown)))
    shown += list(itertools.islice((r for r in records if r.state == "COMPLETED"), room))
    for r in shown:
        colour = colours.get(r.state, "white")
        state = f"[{colour}]{r.state}[/]" + (" (skipped)" if r.skipped else "")
        duration = "" if r.duration_s is None else f"{r.duration_s:.2f}s"
        error = shorten_ids_in(r.error or "")
        table.add_row(short_id(r.payload_id), r.workflow, state, duration, error)
    console.print(table)
    total = len(report.records)
    if total > len(shown):
        console.print(f"... and {total - len(shown)} more (use --json for all)")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items()))
    rate = total / report.wall_s if report.wall_s else 0.0
    noun = "payload" if total == 1 else "payloads"
    pace = f"{rate:.0f}/s" if rate >= 10 else f"{rate:.2f}/s"
    console.print(f"[bold]{total} {noun}[/]: {counts} in {report.wall_s:.2f}s ({pace})")
    for line in report_notes(report):
        console.print(line, highlight=False)


def report_notes(report: Any) -> list[str]:
    """One line each: payloads of other runs the engine ran meanwhile, messages left queued,
    and the `--replace` hint when payloads were skipped as already COMPLETED or INVALID."""
    from cirrostratus.cli.tables import plural

    notes = []
    others = getattr(report, "others", None)
    if others:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(others.items()))
        notes.append(
            f"also ran {plural(sum(others.values()), 'payload')} queued by other runs or `cirro submit` "
            f"(not in this report): {counts}"
        )
    left = getattr(report, "left_queued", 0)
    if left:
        notes.append(
            f"{plural(left, 'other payload')} {'waits' if left == 1 else 'wait'} in the intake; the next `cirro run` or `cirro serve` "
            "runs them"
        )
    skipped = report.skipped_terminal() if hasattr(report, "skipped_terminal") else 0
    if skipped:
        notes.append(
            f"{skipped} skipped as already COMPLETED or INVALID: `cirro run --replace` "
            "runs them again (after fixing an INVALID payload's file, for example)"
        )
    return notes


def run_engine(
    engine: Any, items: Iterable[dict[str, Any]], replace: bool, progress: Progress
) -> Any:
    """Run to the end here — or, when another engine runs the project, hand the payloads to
    it and follow them to the end. Ctrl-C says what is left queued for the next run."""
    from cirrostratus.engine.handoff import hand_over
    from cirrostratus.engine.lock import EngineBusy

    update = progress.update if progress.enabled else None
    try:
        try:
            return asyncio.run(engine.run(items, replace=replace, progress=update))
        except EngineBusy:
            click.echo(
                f"engine pid {engine.lock.holder()} is running this project: handing the "
                "payloads to it and following them",
                err=True,
            )
            return hand_over(engine, items, replace=replace, progress=update)
    except KeyboardInterrupt:
        progress.stop()
        left = engine.intake.waiting_count()
        click.echo(
            f"interrupted: {left} payload{'' if left == 1 else 's'} left queued in the intake (`cirro payload state ID` "
            "shows them QUEUED); the next `cirro run` or `cirro serve` runs them",
            err=True,
        )
        raise
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
@no_task_envs_option
@executor_options
@aws_option
@click.option(
    "--deployment",
    default=None,
    help="A live deployment: send to its process queue and follow the states to the end.",
)
@click.option("--timeout", type=float, default=3600.0, hidden=True)
@click.option("--poll", type=float, default=5.0, hidden=True)
@click.pass_context
def run(
    ctx: click.Context,
    payloads: tuple[str, ...],
    replace: bool,
    concurrency: int | None,
    as_json: bool,
    quiet: bool,
    no_task_envs: bool,
    executor: str | None = None,
    scheduler: str | None = None,
    dask_workers: int | None = None,
    aws: str | None = None,
    deployment: str | None = None,
    timeout: float = 3600.0,
    poll: float = 5.0,
) -> None:
    """Run PAYLOADS (files, globs, or - for stdin) through their workflows, here and now.

    Each input may hold one payload, a JSON list of payloads, or JSON lines. Chained payloads
    (a `process` list) run too. The report covers exactly these payloads and the ones they
    chain to. Exit 0 when every payload ends COMPLETED, 1 otherwise, 2 for usage errors.
    """
    from cirrostratus.cli.local import open_engine

    if deployment:
        from cirrostratus.cli.deployments import run_on

        items = gather_payloads(payloads)
        ctx.exit(run_on(deployment, items, replace, timeout=timeout, poll=poll, as_json=as_json))
    source = PayloadSource(payloads)
    source.check()
    engine = open_engine(ctx, concurrency=concurrency)
    prepare_or_fail(engine, no_task_envs)  # each task's own environment, built once
    from cirrostratus.cli.executor_options import use_executor

    dask_executor = use_executor(engine, executor, scheduler, dask_workers, serving=False)
    start_engine_aws(ctx, engine, aws, quiet=quiet or as_json)  # `--aws local`: moto
    with Progress(enabled=not quiet and not as_json) as progress:
        if dask_executor is not None:
            from cirrostratus.cli.executor_options import cluster_errors, with_cluster_status

            progress.update = with_cluster_status(progress.update, dask_executor)  # type: ignore[method-assign]
            try:
                report = run_engine(engine, source, replace, progress)
            except cluster_errors() as exc:
                progress.stop()  # the payloads were queued first: say they wait
                raise CliError(
                    f"{exc}; the payloads wait in the intake (`cirro payload state ID` shows "
                    "them QUEUED); the next `cirro run` or `cirro serve` runs them",
                    2,
                ) from None
        else:
            report = run_engine(engine, source, replace, progress)
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
