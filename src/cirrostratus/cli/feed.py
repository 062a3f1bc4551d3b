"""`cirro feed`: invoke a feeder of the project on an event, as AWS would invoke its lambda.

Feeders are lambdas that put payloads on the process queue; locally the queue is the project's
intake, so what a feeder queues runs with `cirro serve` (or the next `cirro run`). The builtin
feed-rerun takes Cirrus's event unchanged: `cirro feed feed-rerun event.json`. The event may
also be built from flags: `--params FILE`, `--param k=v`, `--process FILE` (the payload
template's process block). `--dry-run` prints the payloads instead of queueing them and
`--run` runs them here and now (feeders that write to the event's `output`, as the builtin
feed-listing, feed-stac-crawl and feed-stac-api do).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from cirrostratus.cli.errors import CliError


def _read_mapping(path: str, what: str) -> Any:
    """A JSON or YAML file's content, or a usage error naming the file."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{what} {path}: cannot read it ({exc.strerror})", 2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CliError(f"{what} {path}: not JSON or YAML ({exc})", 2) from None


def _value(text: str) -> Any:
    """`--param` values are JSON when they parse (numbers, lists, objects), else strings."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_event(
    event: str | None, params_file: str | None, params: tuple[str, ...], process: str | None
) -> Any:
    """The feeder's event: EVENT (or {}), then --params FILE, --param k=v, --process FILE."""
    flags = bool(params_file or params or process)
    body: Any = {}
    if event is not None or not flags:
        source = event or "-"
        text = sys.stdin.read() if source == "-" else None
        if text is None:
            body = _read_mapping(source, "event")
        else:
            try:
                body = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError as exc:
                raise CliError(f"event on stdin: not JSON ({exc})", 2) from None
    if not flags:
        return body
    if not isinstance(body, dict):
        raise CliError("the event must be a JSON object to add --param/--params/--process", 2)
    if params_file:
        extra = _read_mapping(params_file, "--params")
        if not isinstance(extra, dict):
            raise CliError(f"--params {params_file}: must hold a mapping of parameters", 2)
        body.update(extra)
    for pair in params:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--param {pair!r}: write it as KEY=VALUE", 2)
        body[key] = _value(text)
    if process:
        block = _read_mapping(process, "--process")
        if isinstance(block, dict) and "process" in block:
            block = block["process"]
        if not isinstance(block, dict | list):
            raise CliError(f"--process {process}: must hold a process block (an object)", 2)
        body["process"] = block
    return body


@contextlib.contextmanager
def _feeder_stderr(unwanted: str | None, tracebacks: bool) -> Iterator[None]:
    """Pass the feeder's stderr through once, as one error: less the line `unwanted` (task run's
    note of a temp output file), less the `[ERROR] Type: message` line Lambda logs for the
    exception that ends the run (the `Error:` line says it), and, unless `tracebacks`, less the
    traceback: a feeder fails mostly on a bad parameter, which its error line names;
    `cirro -v feed ...` shows the traceback too."""
    held = io.StringIO()
    failure: str | None = None
    try:
        with contextlib.redirect_stderr(held):
            try:
                yield
            except CliError as exc:
                failure = str(exc)
                raise
    finally:
        text = held.getvalue()
        if failure:  # the error line of the exception, which may span lines, said once
            text = text.replace(f"[ERROR] {failure}\n", "", 1)
        in_traceback = False
        for line in text.splitlines():
            if not tracebacks:
                if line.startswith("Traceback (most recent call last):"):
                    in_traceback = True
                    continue
                if in_traceback and line.startswith("  "):
                    continue
                in_traceback = False
            if line != unwanted:
                print(line, file=sys.stderr)


def _named(exc: CliError, name: str) -> CliError:
    """The feeder's failure naming the feeder (the builtins' messages start with it already)."""
    message = str(exc)
    if name in message:
        return exc
    return CliError(f"feeder {name}: {message}", exc.exit_code)


@click.command()
@click.argument("name")
@click.argument("event", required=False, default=None)
@click.option(
    "--param", "params", multiple=True, metavar="K=V", help="A feeder parameter (repeatable)."
)
@click.option(
    "--params",
    "params_file",
    type=click.Path(dir_okay=False),
    help="A JSON or YAML file of feeder parameters.",
)
@click.option(
    "--process",
    "process",
    type=click.Path(dir_okay=False),
    help="The payload template: a file holding the process block (or a payload with one).",
)
@click.option("--dry-run", is_flag=True, help="Print the payloads (JSON lines); queue nothing.")
@click.option(
    "--submit/--run",
    "submit",
    default=True,
    help="Queue the payloads on the intake (default), or run them now as `cirro run` does.",
)
@click.option(
    "--env", multiple=True, metavar="K=V", help="Set an environment variable (repeatable)."
)
@click.option(
    "--no-task-envs", is_flag=True, help="Run it in the current environment (see `cirro task env`)."
)
@click.pass_context
def feed(
    ctx: click.Context,
    name: str,
    event: str | None,
    params: tuple[str, ...],
    params_file: str | None,
    process: str | None,
    dry_run: bool,
    submit: bool,
    env: tuple[str, ...],
    no_task_envs: bool,
) -> None:
    """Run feeder NAME on EVENT (a JSON file, or - for stdin) and print what it returns.

    NAME is a feeder of the project or a built-in one (`cirro show feeders`), e.g.
    `cirro feed feed-rerun rerun.json` with {"collections": ..., "workflow": ..., "state": "FAILED"},
    or `cirro feed feed-listing --param root=scenes/ --process template.json --dry-run`.
    """
    from cirrostratus.cli.task import _load_project, run

    project = _load_project(ctx.obj.get("project_dir") if ctx.obj else None, required=False)
    feeders = sorted(project.feeders) if project is not None else []
    if name not in feeders:
        raise CliError(
            f"no feeder named {name!r}; known: {', '.join(feeders) or 'none'} "
            "(see `cirro show feeders`; run other lambdas with `cirro task run`)",
            2,
        )
    body = build_event(event, params_file, params, process)
    if dry_run and not submit:
        raise CliError("--dry-run and --run are exclusive: choose one", 2)
    with tempfile.TemporaryDirectory(prefix="cirro-feed-") as tmp:
        event_path = Path(tmp) / "event.json"
        payloads = Path(tmp) / "payloads.jsonl"
        if (dry_run or not submit) and isinstance(body, dict):
            body["output"] = str(payloads)
        event_path.write_text(json.dumps(body), encoding="utf-8")
        verbose = bool(ctx.find_root().obj and ctx.find_root().obj.get("verbose"))
        if submit and not dry_run:
            try:
                with _feeder_stderr(None, tracebacks=verbose):
                    ctx.invoke(
                        run, name=name, payload=str(event_path), env=env, no_task_envs=no_task_envs
                    )
            except CliError as exc:
                raise _named(exc, name) from None
            return
        result = Path(tmp) / "result.json"
        try:  # the result goes to a temp file, gone when the command ends: not worth a line
            with _feeder_stderr(f"wrote {result}", tracebacks=verbose):
                ctx.invoke(
                    run,
                    name=name,
                    payload=str(event_path),
                    output=str(result),
                    env=env,
                    no_task_envs=no_task_envs,
                )
        except CliError as exc:
            raise _named(exc, name) from None
        if not payloads.exists():
            raise CliError(
                f"feeder {name} does not support --dry-run/--run (it wrote no payloads to the "
                "event's `output`); run it without them",
                2,
            )
        if dry_run:
            count = 0
            with payloads.open(encoding="utf-8") as fh:
                for line in fh:
                    click.echo(line.rstrip("\n"))
                    count += 1
            click.echo(f"{count} payloads (dry run: nothing queued)", err=True)
            return
        from cirrostratus.cli.run import run as run_payloads

        ctx.invoke(run_payloads, payloads=(str(payloads),), no_task_envs=no_task_envs)
