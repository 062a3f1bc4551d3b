"""`cirro init` and `cirro create`: start a project and add components, as Cirrus does."""

from __future__ import annotations

from pathlib import Path

import click

from cirrostratus.cli import AliasedGroup
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.show import project_root
from cirrostratus.project import Project, ProjectError, create_component, init_project


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def init(ctx: click.Context, directory: Path | None) -> None:
    """Make DIRECTORY (default: --project, else the current directory) a Cirrus project.

    Writes cirrus.yml (Cirrus's default configuration), .gitignore and
    cloudformation/s3.yml, and creates functions/, feeders/, tasks/, workflows/ and
    cloudformation/. Existing files are never overwritten, so running it again is safe.
    """
    explicit = (ctx.obj or {}).get("project_dir")
    target = (directory or (Path(explicit) if explicit else Path.cwd())).resolve()
    if target.exists() and not target.is_dir():
        raise CliError(f"{target} is not a directory")
    try:
        created = init_project(target)
    except OSError as exc:
        raise CliError(f"cannot initialise {target}: {exc}") from None
    for path in created:
        click.echo(f"  created {path.relative_to(target)}")
    click.echo(f"Initialised Cirrus project in {target}" + ("" if created else " (nothing to do)"))


@click.group(cls=AliasedGroup)
def create() -> None:
    """Add a task, workflow, feeder or function from commented, runnable templates.

    \b
    cirro create task -t lambda copy-assets "Copy assets to the data bucket"
    cirro create task -t batch -t lambda to-cog "Convert to COG on Lambda or Batch"
    cirro create workflow mirror "Copy assets, then publish" --task copy-assets --task publish
    """


def _create(ctx: click.Context, kind: str, name: str, description: str, **kwargs: object) -> None:
    root = project_root(ctx)
    assert root is not None
    try:
        files = create_component(root, kind, name, description, **kwargs)  # type: ignore[arg-type]
    except ProjectError as exc:
        raise CliError(str(exc)) from None
    for path in files:
        click.echo(f"  created {path.relative_to(root)}")
    click.echo(f"{kind} {name} created")


@create.command()
@click.option(
    "-t",
    "--type",
    "types",
    multiple=True,
    required=True,
    type=click.Choice(["lambda", "batch"]),
    help="lambda, batch, or both (-t lambda -t batch).",
)
@click.argument("name")
@click.argument("description")
@click.pass_context
def task(ctx: click.Context, types: tuple[str, ...], name: str, description: str) -> None:
    """Create tasks/NAME: definition.yml, README.md and its code.

    A lambda task gets lambda_function.py (a stac-task Task with lambda_handler); with
    -t batch it also gets Batch resources running that lambda in Cirrus's lambda runner.
    A batch-only task gets task.py and `batch.local.command` to run it locally.
    """
    _create(ctx, "task", name, description, types=types)


@create.command()
@click.option(
    "--task",
    "task_names",
    multiple=True,
    metavar="TASK",
    help="A task the workflow runs; repeat for several, in order (default: publish).",
)
@click.argument("name")
@click.argument("description")
@click.pass_context
def workflow(ctx: click.Context, task_names: tuple[str, ...], name: str, description: str) -> None:
    """Create workflows/NAME: a Step Functions definition running each --task in order,
    and test-payload.json, an example payload for it.

    \b
    A lambda task is a Task state; a batch-only task runs pre-batch, its Batch job and
    post-batch; a task that is both gets a Choice on process.tasks.TASK.batch.
    Every state catches errors into $.error and ends in a Fail state.
    """
    from cirrostratus.project.workflow_scaffold import step_for

    root = project_root(ctx)
    project = Project.load(root)
    if not task_names:
        default = "publish"
        if project.lambda_component("publish") is None:
            lambdas = [
                t.name for t in project.tasks.values() if t.lambda_enabled and t.source == "project"
            ]
            default = lambdas[0] if lambdas else "publish"
        task_names = (default,)
    try:
        steps = [step_for(project, task_name) for task_name in task_names]
    except ProjectError as exc:
        raise CliError(str(exc), exit_code=2) from None
    _create(ctx, "workflow", name, description, workflow_steps=steps)


@create.command()
@click.argument("name")
@click.argument("description")
@click.pass_context
def feeder(ctx: click.Context, name: str, description: str) -> None:
    """Create feeders/NAME: a lambda that turns events into process payloads."""
    _create(ctx, "feeder", name, description)


@create.command()
@click.argument("name")
@click.argument("description")
@click.pass_context
def function(ctx: click.Context, name: str, description: str) -> None:
    """Create functions/NAME: a plain lambda function."""
    _create(ctx, "function", name, description)
