"""`cirro task run`: run one task of the project on one payload, here, now; `cirro task invoke`
calls the deployed Lambda of a task instead.

    cirro task run footprint payload.json
    cat payload.json | cirro task run copy-assets - --batch --output out.json
    cirro task run tasks/copy/task.py:CopyAssets payload.json --no-upload --workdir work/

The output payload goes to stdout (or --output), the task's own output to stderr; the exit
status is 0 on success and 1 with `Error: <ErrorType>: <message>` on failure.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from cirrostratus.cli.aws_options import aws_option, start_aws
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.task_env import TaskEnvError, no_task_envs_option, use_task_envs


@click.group()
def task() -> None:
    """Run and inspect tasks."""


@task.command("run")
@click.argument("name")
@click.argument("payload", required=False, default="-")
@click.option(
    "--batch",
    is_flag=True,
    help="Run through the Batch contract: a fresh process reads the payload URL and writes <url>_out.json.",
)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False),
    help="Write the output payload here instead of stdout.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    help="The task's working directory (kept afterwards; default: a fresh temp dir).",
)
@click.option(
    "--env",
    "env",
    multiple=True,
    metavar="K=V",
    help="Set an environment variable for the task (repeatable); wins over the project's.",
)
@click.option(
    "--upload/--no-upload",
    default=True,
    help="For a stactask Task class (module:Class): upload assets or not.",
)
@no_task_envs_option
@aws_option
@click.pass_context
def run(
    ctx: click.Context,
    name: str,
    payload: str,
    batch: bool,
    output: str | None,
    workdir: str | None,
    env: tuple[str, ...],
    upload: bool,
    no_task_envs: bool,
    aws: str | None = None,
) -> None:
    """Run task NAME on PAYLOAD (a JSON file, or - for stdin).

    NAME is a task, function or feeder of the project (`copy-assets`, also `cirrus-dev-copy-assets`
    or a Lambda ARN), or `module:Class` / `path/to/file.py:Class` for a stactask Task subclass
    (or `module:function` for any handler).
    """
    from cirrostratus.cli.local import writable, write_file
    from cirrostratus.runtime import once
    from cirrostratus.storage.locations import Locations

    extra = _parse_env(env)
    event = _read_payload(payload)
    if output:
        writable(output)  # before the task runs, not after
    project = _load_project(
        ctx.obj.get("project_dir") if ctx.obj else None, required=":" not in name
    )
    locations = Locations.for_project(project.root if project and project.root else None).ensure()
    use_task_envs(no_task_envs)
    local_aws = start_aws(ctx, project, locations, aws) if project is not None or aws else None
    if local_aws is not None:  # `--aws local`: the task's boto3 reaches moto
        locations = local_aws.locations
    work = Path(workdir).absolute() if workdir else None

    if ":" in name and not name.startswith("arn:"):
        kwargs: dict[str, Any] = {"upload": upload}
        if work is not None:
            kwargs.update(workdir=str(work), save_workdir=True)
        spec = once.class_spec(
            name,
            locations,
            region=project.region if project else "us-west-2",
            extra_env=extra,
            task_kwargs=kwargs,
        )
        if work is not None:
            spec = _with_workdir(spec, work)
        _assign_id(event)
        result = asyncio.run(once.run_lambda(spec, event, locations.logs_dir))
    else:
        from cirrostratus.runtime.names import component_name
        from cirrostratus.runtime.spec import lambda_names, stack_of

        assert project is not None
        known = set(lambda_names(project)) | set(project.tasks)
        resolved = component_name(name, known, fill=stack_of(project).string)
        if resolved is None:
            raise CliError(
                f"no task, function or feeder named {name!r} in {project.root}; "
                f"known: {', '.join(sorted(known)) or 'none'} (see `cirro show tasks`)"
            )
        try:
            lspec = once.lambda_spec(project, resolved, locations, extra)
        except TaskEnvError as exc:
            raise CliError(str(exc)) from None
        if not upload:  # a component's handler takes (event, context): the flag cannot reach it
            module = (
                f"{lspec.directory}/{lspec.handler.rpartition('.')[0]}.py" if lspec else "FILE.py"
            )
            raise click.UsageError(
                f"--no-upload reaches a stactask Task class only; {resolved}'s handler takes "
                f"(event, context) and would upload anyway. Run its class instead: "
                f"cirro task run {module}:CLASS {payload} --no-upload --workdir DIR "
                "(CLASS: the Task subclass defined there)"
            )
        if batch or lspec is None:
            try:  # a task with no way to run as a job is refused before anything is printed
                once.batch_job(project, resolved, locations, extra)
            except LookupError as exc:
                raise CliError(str(exc)) from None
        _assign_id(event)
        if batch or lspec is None:
            try:
                result = asyncio.run(
                    once.run_batch(project, resolved, event, locations, extra_env=extra)
                )
            except (LookupError, TaskEnvError) as exc:
                raise CliError(str(exc)) from None
        else:
            if work is not None:
                lspec = _with_workdir(lspec, work)
            result = asyncio.run(once.run_lambda(lspec, event, locations.logs_dir))

    for line in result.logs:
        click.echo(line, err=True)
    if not result.ok:
        raise CliError(f"{result.error}: {result.message}")
    data = orjson.dumps(result.output, option=orjson.OPT_INDENT_2) + b"\n"
    if output:
        write_file(output, data)
        click.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


@task.command("invoke")
@click.argument("name")
@click.option("--deployment", default=None, help="The live deployment whose Lambda to call.")
@click.option(
    "--payload",
    "payload",
    default=None,
    metavar="FILE|-",
    help="The event to send: a JSON file, or - for stdin (default: {}).",
)
@click.option(
    "--async", "asynchronous", is_flag=True, help="Queue the call (InvocationType Event)."
)
@click.option("--log", "tail", is_flag=True, help="Print the last 4 KB of its log (LogType Tail).")
def invoke(
    name: str, deployment: str | None, payload: str | None, asynchronous: bool, tail: bool
) -> None:
    """Invoke the deployed Lambda of task or function NAME once and print what it returns.

    NAME is a function of the deployment's stack: `copy-assets` finds `<service>-<stage>-copy-assets`
    (see `cirro deployments show DEP --lambdas`). The returned payload goes to stdout, the status
    (and with --log the log tail) to stderr; exit 1 when the function raised (FunctionError).
    """
    if not deployment:
        raise CliError(
            "`task invoke` calls a deployed Lambda: give --deployment NAME (see "
            f"`cirro deployments list`); to run {name} here, use `cirro task run {name} PAYLOAD`",
            2,
        )
    from cirrostratus.aws.deployments import DeploymentError
    from cirrostratus.aws.invoke import invoke as call
    from cirrostratus.aws.invoke import resolve, stack_functions
    from cirrostratus.cli.deployments import get_deployment

    event = _read_payload(payload) if payload is not None else {}
    d = get_deployment(deployment)
    try:
        function = resolve(d, name, stack_functions(d))
        result = call(d, function, orjson.dumps(event), asynchronous=asynchronous, tail=tail)
    except DeploymentError as exc:
        raise CliError(str(exc)) from None
    status = f"{function}: status {result.status}"
    if asynchronous:
        click.echo(
            f"{status} (queued; its logs: `cirro payload logs --deployment` or CloudWatch)",
            err=True,
        )
        return
    click.echo(
        status + (f", FunctionError {result.function_error}" if result.function_error else ""),
        err=True,
    )
    if result.log_tail:
        click.echo(result.log_tail.rstrip("\n"), err=True)
    try:
        shown = orjson.dumps(orjson.loads(result.payload), option=orjson.OPT_INDENT_2) + b"\n"
    except orjson.JSONDecodeError:
        shown = result.payload + (b"\n" if result.payload else b"")
    sys.stdout.buffer.write(shown)
    sys.stdout.flush()
    if result.function_error:
        raise CliError(f"{function} failed: {_error_line(result.payload)}")


def _error_line(payload: bytes) -> str:
    """Lambda's error document `{"errorType", "errorMessage"}` as `Type: message`."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload.decode("utf-8", "replace")[:500]
    if isinstance(doc, dict) and ("errorType" in doc or "errorMessage" in doc):
        return f"{doc.get('errorType', 'Error')}: {doc.get('errorMessage', '')}"
    return str(doc)[:500]


def _assign_id(event: Any) -> None:
    """Give a payload without an id Cirrus's id, as its process lambda does, and say so.

    Called after every usage check and just before the task runs, so a refused run prints its
    refusal alone, not an id for a payload that never ran.
    """
    from cirrostratus.runtime import once

    assigned = once.assign_payload_id(event)
    if assigned is not None:
        click.echo(
            f"the payload has no id: assigned {assigned} (as Cirrus's process does)", err=True
        )


def _with_workdir(spec: Any, work: Path) -> Any:
    from dataclasses import replace

    return replace(spec, workdir=work)


def _parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(
                f"--env {pair!r}: expected KEY=VALUE, e.g. --env CIRRUS_LOG_LEVEL=DEBUG", 2
            )
        out[key] = value
    return out


def _read_payload(source: str) -> Any:
    if source == "-":
        if sys.stdin.isatty():
            raise CliError("no payload: give a JSON file, or pipe one in with -", 2)
        data, where = sys.stdin.buffer.read(), "stdin"
    else:
        try:
            data, where = Path(source).read_bytes(), source
        except OSError as exc:
            raise CliError(f"cannot read payload {source}: {exc.strerror}", 2) from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CliError(f"payload {where} is not valid JSON ({exc})", 2) from None


def _load_project(explicit: str | None, *, required: bool) -> Any:
    from cirrostratus.cli.local import load_runnable_project
    from cirrostratus.project import ProjectNotFound, find_project

    try:
        root = find_project(explicit=explicit)
    except ProjectNotFound as exc:
        if required:
            raise CliError(str(exc)) from None
        return None
    return load_runnable_project(root)


def _add_env_command() -> None:
    from cirrostratus.cli.task_env import env_command

    task.add_command(env_command)


_add_env_command()
