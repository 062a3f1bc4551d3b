"""Per-task environments on the command line: `cirro task env NAME` and `--no-task-envs`.

cirro task env copy-assets            # build it if needed, then show path, hash, requirements
cirro task env copy-assets --rebuild  # throw it away and build it again
cirro run payload.json --no-task-envs # every task in the current environment
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cirrostratus.cli.errors import CliError
from cirrostratus.runtime.taskenv import SWITCH, TaskEnvError

__all__ = ["TaskEnvError", "env_command", "no_task_envs_option", "prepare_or_fail", "use_task_envs"]

F = TypeVar("F", bound=Callable[..., Any])


def no_task_envs_option(fn: F) -> F:
    """The `--no-task-envs` flag, the same on `run`, `serve` and `task run`."""
    return click.option(
        "--no-task-envs",
        "no_task_envs",
        is_flag=True,
        help="Run every task in the current environment, ignoring their requirements.txt and "
        "pythonRequirements (default: each task with requirements runs in its own cached "
        "environment; see `cirro task env`).",
    )(fn)


def use_task_envs(no_task_envs: bool) -> None:
    """`--no-task-envs` turns them off for this process and what it starts."""
    if no_task_envs:
        os.environ[SWITCH] = "0"


def prepare_or_fail(engine: Any, no_task_envs: bool) -> None:
    """Build the environments a run needs before it starts work; a failure names the task
    (and closes the engine, which has not started)."""
    use_task_envs(no_task_envs)
    from cirrostratus.runtime.taskenv import prepare

    try:
        prepare(engine.project)
    except TaskEnvError as exc:
        engine.close()
        raise CliError(str(exc)) from None


@click.command("env")
@click.argument("name")
@click.option("--rebuild", is_flag=True, help="Delete the environment and build it again.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def env_command(ctx: click.Context, name: str, rebuild: bool, as_json: bool) -> None:
    """Build (if needed) and show the environment task NAME runs in.

    A task with a requirements.txt in its folder, or `lambda.pythonRequirements.include` in its
    definition.yml, runs in its own virtual environment keyed by the hash of those requirements
    and the Python version, cached under $XDG_CACHE_HOME/cirrostratus/task-envs
    ($CIRRO_TASK_ENV_CACHE overrides). It is built once, with uv when it is on PATH, else
    venv + pip.
    """
    from cirrostratus.cli.local import load_runnable_project, project_root
    from cirrostratus.runtime.names import component_name
    from cirrostratus.runtime.spec import lambda_names, stack_of
    from cirrostratus.runtime.taskenv import describe, ensure, task_env

    project = load_runnable_project(project_root(ctx))
    known = set(lambda_names(project)) | set(project.tasks)
    resolved = component_name(name, known, fill=stack_of(project).string)
    component = project.lambda_component(resolved) if resolved else None
    if component is None and resolved:
        component = project.tasks.get(resolved)
    if component is None:
        raise CliError(
            f"no task, function or feeder named {name!r} in {project.root}; "
            f"known: {', '.join(sorted(known)) or 'none'} (see `cirro show tasks`)"
        )
    env = task_env(component)
    if env is None:
        raise CliError(
            f"task {component.name} has no requirements (no {component.directory}/requirements.txt "
            "and no lambda.pythonRequirements.include in its definition.yml): it runs in the "
            "current environment"
        )
    try:
        ensure(env, component, rebuild=rebuild)
    except TaskEnvError as exc:
        raise CliError(str(exc)) from None
    info = describe(env)
    if as_json:
        import orjson

        click.echo(orjson.dumps(info).decode())
        return
    click.echo(f"task:         {info['task']}")
    click.echo(f"path:         {info['path']}")
    click.echo(f"hash:         {info['hash']}")
    click.echo(f"python:       {info['python']} ({info['python_version']})")
    click.echo(f"built:        {info['built_at']} with {info['tool']}")
    click.echo("requirements:")
    for line in info["requirements"]:
        click.echo(f"  {line}")
