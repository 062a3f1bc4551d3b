"""`cirro show`: list a project's components, or show one with its merged environments.

Like Cirrus's `show`, it needs no project: outside one it shows the built-ins. `--json`
gives the same information as JSON for scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cirrostratus.cli import AliasedGroup
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.tables import plural
from cirrostratus.project import (
    Component,
    Project,
    ProjectNotFound,
    Resource,
    Task,
    Workflow,
    find_project,
)
from cirrostratus.project.yamlcfn import dumps

FILES = ("definition", "readme", "handler")


def project_root(ctx: click.Context, required: bool = True) -> Path | None:
    """The project from `--project`/CIRRUS_DIR or the nearest cirrus.yml; CliError if required."""
    explicit = (ctx.obj or {}).get("project_dir")
    try:
        return find_project(explicit=explicit)
    except ProjectNotFound as exc:
        if required or explicit:
            raise CliError(str(exc)) from None
        return None


def load_project(ctx: click.Context, required: bool = True) -> Project:
    root = project_root(ctx, required)
    if root is None:
        click.secho("No Cirrus project here: showing the built-ins only.", fg="yellow", err=True)
    project = Project.load(root)
    errors = [p for p in project.problems if p.severity == "error"]
    if errors and ctx.info_name != "validate":
        click.secho(
            f"{plural(len(errors), 'problem')} while loading, e.g. {errors[0]}; "
            "see `cirro validate`",
            fg="yellow",
            err=True,
        )
    return project


class ShowGroup(AliasedGroup):
    """Unique prefixes (`show task`) plus Cirrus's `cf` alias for `cloudformation`."""

    ALIASES = {"cf": "cloudformation"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.ALIASES.get(cmd_name, cmd_name))


@click.group(cls=ShowGroup)
def show() -> None:
    """Show the project's tasks, workflows, feeders, functions and CloudFormation.

    \b
    cirro show tasks                      one line per task
    cirro show task copy-assets           its details and merged environments
    cirro show task copy-assets readme    one of its files (definition, readme, handler)
    cirro show workflow mirror test_payload   a workflow's test-payload.json
    cirro show cf BasicSpotJobQueue       one CloudFormation resource
    cirro show plugins                    installed Cirrus plugins
    """


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _line(name: str, flags: list[str], description: str, enabled: bool) -> str:
    label = f"{name} ({', '.join(flags)})" if flags else name
    text = f"{label}: {description}" if description else label
    return click.style(text, fg="blue" if enabled else "red")


def _component_command(group: str) -> click.Command:
    singular = group.rstrip("s")
    # a workflow has no handler; only a workflow has a test payload (as in Cirrus)
    files = ("definition", "readme", "test_payload") if group == "workflows" else FILES

    @click.command(name=group, help=f"List {group}, or show one {singular} (and one of its files).")
    @click.argument("name", required=False)
    @click.argument("file", required=False, type=click.Choice(files))
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
    @click.pass_context
    def command(
        ctx: click.Context, name: str | None, file: str | None, as_json: bool, fit: bool = False
    ) -> None:
        project = load_project(ctx, required=False)
        items: dict[str, Any] = project.group(group)
        if fit:
            _show_fit(ctx, project, name, as_json)
            return
        if name is None:
            if as_json:
                _echo_json([c.to_dict() for c in items.values()])
                return
            for c in items.values():
                click.echo(_line(c.name, c.flags(), c.description, c.active))
            return
        item = items.get(name)
        if item is None:
            known = ", ".join(sorted(items)) or "none"
            raise CliError(f"no {singular} named {name!r} (known: {known})")
        if file is not None:
            _show_file(item, file)
        elif as_json:
            _echo_json(_details_json(project, item))
        else:
            _show_details(project, item)

    if group == "tasks":
        command.params.append(
            click.Option(
                ["--fit"],
                is_flag=True,
                help="Lambda or Batch? Package size, and duration and peak memory of local runs.",
            )
        )
    return command


def _show_fit(ctx: click.Context, project: Project, name: str | None, as_json: bool) -> None:
    """`show tasks --fit`: each task against Lambda's limits (aws/build/fit.py)."""
    from cirrostratus.aws.build.fit import fit_tasks
    from cirrostratus.storage.locations import Locations

    root = project.root or Path.cwd()
    fits = fit_tasks(
        project,
        state_root=Locations.for_project(root).root,
        build_dir=root / ".cirro" / "build",
    )
    if name is not None:
        fits = [f for f in fits if f.task == name]
        if not fits:
            raise CliError(f"no task named {name!r} (known: {', '.join(sorted(project.tasks))})")
    if as_json:
        _echo_json([f.to_dict() for f in fits])
        return
    for f in fits:
        size = "?" if f.package_bytes is None else f"{f.package_bytes / 1048576:.1f} MB"
        took = "-" if f.max_seconds is None else f"{f.max_seconds:.2f} s"
        peak = "-" if f.peak_mb is None else f"{f.peak_mb:.0f} MB"
        verdict = {True: "fits Lambda", False: "does not fit Lambda", None: "not measured"}
        color = {"lambda": "green", "batch": "yellow", "unknown": None}[f.use]
        click.echo(
            f"{f.task} ({', '.join(f.kinds) or 'disabled'}): package {size} ({f.package_note}), "
            f"{f.runs} run(s), max {took}, peak {peak}: "
            + click.style(f"{verdict[f.fits_lambda]}, use {f.use}", fg=color)
        )
        for reason in f.reasons:
            click.echo(f"    {reason}")


def _file_path(item: Component | Workflow, file: str) -> Path | None:
    if file == "definition":
        return item.definition_file
    if file == "readme":
        return item.readme
    if file == "test_payload":
        return item.directory / "test-payload.json"
    return item.handler_file if isinstance(item, Component) else None


def _show_file(item: Component | Workflow, file: str) -> None:
    path = _file_path(item, file)
    if path is None or not path.is_file():
        raise CliError(f"{item.name} has no {file} file")
    click.echo(path.read_text(encoding="utf-8"), nl=False)


def _details_json(project: Project, item: Component | Workflow) -> dict[str, Any]:
    data = item.to_dict()
    if isinstance(item, Task):
        data["job_definitions"] = {
            jid: project.job_definitions[jid].to_dict()
            for jid in item.job_definitions
            if jid in project.job_definitions
        }
    return data


def _block(title: str, data: Any) -> None:
    click.echo(f"{title}:")
    text = dumps(data).rstrip("\n")
    click.echo("\n".join("  " + line for line in text.splitlines()))


def _show_details(project: Project, item: Component | Workflow) -> None:
    click.echo(_line(item.name, item.flags(), "", item.active))
    if item.description:
        click.echo(item.description)
    click.echo("\nFiles:")
    for file in (*FILES, "test_payload"):
        path = _file_path(item, file)
        if path is not None and path.is_file():
            click.echo(f"  {file}: {project.display(path)}")
    if isinstance(item, Workflow):
        click.echo(f"\nState machine name: {item.state_machine_name}")
        _block("Definition", item.definition)
        return
    click.echo(f"\nLambda enabled: {item.lambda_enabled}")
    if item.lambda_config:
        _block("Lambda config", item.to_dict()["lambda"])
    if not isinstance(item, Task):
        return
    click.echo("")
    if item.parameters_schema:
        _block(f"Parameters (process.tasks.{item.name})", item.parameters_schema)
    else:
        click.echo(f"Parameters (process.tasks.{item.name}): no schema declared")
    click.echo(f"\nBatch enabled: {item.batch_enabled}")
    if item.local_command:
        click.echo(f"Local command: {' '.join(item.local_command)}")
    if item.batch_resources:
        _block("Batch resources", item.batch_resources)
    for jid in item.job_definitions:
        job = project.job_definitions.get(jid)
        if job is not None:
            _block(f"Job definition {jid} (merged)", job.to_dict())


@click.command(name="cloudformation")
@click.argument("name", required=False)
@click.option(
    "-t",
    "--type",
    "sections",
    multiple=True,
    help="Only these top-level sections (Resources, Outputs, ...).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def cloudformation(
    ctx: click.Context, name: str | None, sections: tuple[str, ...], as_json: bool
) -> None:
    """List CloudFormation objects (built-ins, cloudformation/*.yml, task batch resources), or show one.

    NAME matches case-insensitively: exactly, else as a substring; alias `cf`.
    """
    project = load_project(ctx, required=False)
    wanted = {s.lower() for s in sections}
    objects = [
        obj
        for section, bucket in sorted(project.cloudformation.items())
        if not wanted or section.lower() in wanted
        # as Cirrus lists them: built-ins first, then by name
        for obj in sorted(bucket.values(), key=lambda o: (o.source != "built-in", o.logical_id))
    ]
    if name is not None:
        exact = [o for o in objects if o.logical_id.lower() == name.lower()]
        objects = exact or [o for o in objects if name.lower() in o.logical_id.lower()]
        if not objects:
            raise CliError(f"no CloudFormation object matches {name!r}")
        if len(objects) == 1:
            _show_resource(project, objects[0], as_json)
            return
    if as_json:
        _echo_json([o.to_dict() for o in objects])
        return
    current = None
    for obj in objects:
        if obj.section != current:
            if current is not None:
                click.echo("")
            current = obj.section
            click.echo(f"[{obj.section}]")
        kind = f" [{obj.type}]" if obj.type else ""
        click.echo(f"{obj.logical_id}{kind} ({obj.source})")


def _show_resource(project: Project, obj: Resource, as_json: bool) -> None:
    job = project.job_definitions.get(obj.logical_id) if obj.section == "Resources" else None
    queue = project.job_queues.get(obj.logical_id) if obj.section == "Resources" else None
    if as_json:
        data = obj.to_dict()
        if job is not None:
            data["job_definition"] = job.to_dict()
        if queue is not None:
            data["max_vcpus"] = queue.max_vcpus
        _echo_json(data)
        return
    kind = f" [{obj.type}]" if obj.type else ""
    click.echo(f"{obj.logical_id}{kind} ({obj.source})")
    _block(obj.section, {obj.logical_id: obj.body})
    if job is not None:
        _block("Environment (merged)", job.environment)
    if queue is not None:
        click.echo(f"Max vCPUs (its compute environments): {queue.max_vcpus}")


for _group in ("tasks", "workflows", "feeders", "functions"):
    show.add_command(_component_command(_group))
show.add_command(cloudformation)


def _add_plugins_command() -> None:
    from cirrostratus.cli.plugins import plugins

    show.add_command(plugins)


_add_plugins_command()
