"""`cirro build`: the project as plain CloudFormation (template.json/.yaml) plus lambda zips.

What `cirrus build` + Serverless packaging did, without Node: see docs/build.md. `--diff`
compares with the previous build in the same folder; `cirro deploy` uploads the result.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from cirrostratus.cli.errors import CliError
from cirrostratus.cli.show import load_project, project_root

DEFAULT_OUT = Path(".cirro") / "build"


@click.command()
@click.option(
    "--stage", default="dev", show_default=True, help="Serverless stage: names and ${opt:stage}."
)
@click.option(
    "--region",
    default=None,
    help="AWS region for ${opt:region} (default: cirrus.yml's provider.region, else us-west-2).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: .cirro/build in the project).",
)
@click.option(
    "--diff", "show_diff", is_flag=True, help="Show resource-level changes since the last build."
)
@click.option(
    "--no-vendor",
    is_flag=True,
    help="Package code only, without pip (offline template checks; such zips lack requirements).",
)
@click.pass_context
def build(
    ctx: click.Context,
    stage: str,
    region: str | None,
    out: Path | None,
    show_diff: bool,
    no_vendor: bool,
) -> None:
    """Build template.json, template.yaml and one zip per lambda for `cirro deploy`."""
    from cirrostratus.aws.build import BuildError, build_project
    from cirrostratus.aws.build.diff import diff_templates

    root = project_root(ctx, required=True)
    assert root is not None
    project = load_project(ctx)
    region = region or _project_region(project.config) or "us-west-2"
    out = out if out is not None else root / DEFAULT_OUT
    previous = _previous(out / "template.json")
    try:
        result = build_project(project, stage=stage, region=region, out=out, vendor=not no_vendor)
    except BuildError as exc:
        raise CliError(str(exc)) from None
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    resources = result.template.get("Resources", {})
    size = sum(p.stat().st_size for p in result.packages.values())
    click.echo(
        f"built {len(resources)} resources and {len(result.packages)} lambda package(s) "
        f"({size / 1024 / 1024:.1f} MB) for stage {stage} in {region}: {result.template_path}"
    )
    if show_diff:
        changes = diff_templates(previous, result.template)
        if previous is None:
            click.echo("no previous build: every resource is new")
        elif not changes:
            click.echo("no changes since the last build")
        for change in changes:
            color = {"added": "green", "removed": "red", "changed": "yellow"}[change.action]
            click.secho(change.line(), fg=color)


def _previous(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _project_region(config: dict[str, object]) -> str | None:
    from cirrostratus.aws.build.resolve import Resolver

    provider = config.get("provider")
    wanted = provider.get("region") if isinstance(provider, dict) else None
    if wanted is None:
        return None
    value = Resolver(config, stage="dev", region="").value(wanted)
    return value if isinstance(value, str) and value and "${" not in value else None
