"""`cirro feed`: invoke a feeder of the project on an event, as AWS would invoke its lambda.

Feeders are lambdas that put payloads on the process queue; locally the queue is the project's
intake, so what a feeder queues runs with `cirro serve` (or the next `cirro run`). The builtin
feed-rerun takes Cirrus's event unchanged: `cirro feed feed-rerun event.json`.
"""

from __future__ import annotations

import click

from cirrostratus.cli.errors import CliError


@click.command()
@click.argument("name")
@click.argument("event", required=False, default="-")
@click.option(
    "--env", multiple=True, metavar="K=V", help="Set an environment variable (repeatable)."
)
@click.option(
    "--no-task-envs", is_flag=True, help="Run it in the current environment (see `cirro task env`)."
)
@click.pass_context
def feed(
    ctx: click.Context, name: str, event: str, env: tuple[str, ...], no_task_envs: bool
) -> None:
    """Run feeder NAME on EVENT (a JSON file, or - for stdin) and print what it returns.

    NAME is a feeder of the project or a built-in one (`cirro show feeders`), e.g.
    `cirro feed feed-rerun rerun.json` with {"collections": ..., "workflow": ..., "state": "FAILED"}.
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
    ctx.invoke(run, name=name, payload=event, env=env, no_task_envs=no_task_envs)
