"""`cirro deploy` and `cirro remove`: the built project as a CloudFormation stack on AWS.

The stack is named `<service>-<stage>` as Cirrus names it. Deploy builds first (as `cirro
build`), so what is deployed is always what the project says now. See docs/aws.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cirrostratus.cli.build import DEFAULT_OUT, _project_region
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.show import load_project, project_root

_STYLE = {"COMPLETE": "green", "FAILED": "red", "IN_PROGRESS": "yellow"}


def _echo_event(event: dict[str, Any]) -> None:
    status = str(event.get("ResourceStatus", ""))
    colour = next((c for k, c in _STYLE.items() if status.endswith(k)), None)
    reason = event.get("ResourceStatusReason")
    click.echo(
        f"  {event.get('LogicalResourceId', '')} ({event.get('ResourceType', '')}) "
        + click.style(status, fg=colour)
        + (f": {reason}" if reason and "FAILED" in status else "")
    )


def _stage_region(ctx: click.Context, stage: str, region: str | None) -> tuple[Any, Path, str, str]:
    root = project_root(ctx, required=True)
    assert root is not None
    project = load_project(ctx)
    region = region or _project_region(project.config) or "us-west-2"
    return project, root, f"{project.service}-{stage}", region


def _deployer(stack: str, region: str, profile: str | None, poll: float) -> Any:
    from cirrostratus.aws.deploy import Deployer, DeployError

    try:
        return Deployer(
            stack,
            region=region,
            profile=profile,
            poll_seconds=poll,
            on_event=_echo_event,
            on_notice=lambda text: click.secho(text, fg="yellow"),
        )
    except DeployError as exc:
        raise CliError(str(exc)) from None


def _print_report(report: Any) -> None:
    colour = "green" if report.ok else "red"
    click.echo(f"stack {report.stack}: " + click.style(report.status, fg=colour, bold=True))
    for logical_id, kind, reason in report.failed[:5]:
        click.secho(f"  failed: {logical_id} ({kind}): {reason}", fg="red")
    if report.reason and not report.ok:
        click.echo(f"  reason: {report.reason}")
    for key, value in sorted(report.outputs.items()):
        click.echo(f"  {key}: {value}")


def _options(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--stage", default="dev", show_default=True, help="Serverless stage."),
            click.option(
                "--region",
                default=None,
                help="AWS region (default: provider.region, else us-west-2).",
            ),
            click.option("--profile", default=None, help="A named AWS profile (default: boto3's)."),
            click.option("--poll", type=float, default=2.0, hidden=True),
        ]
    ):
        fn = option(fn)
    return fn


@click.command()
@_options
@click.option("--dry-run", is_flag=True, help="Print the change set, then delete it.")
@click.option(
    "--bucket",
    default=None,
    help="Deployment bucket for zips and template (default: cirro-deploy-<account>-<region>).",
)
@click.option(
    "--skip-unsupported",
    is_flag=True,
    help="Leave out resources moto cannot create, and say which (for emulators; never on AWS).",
)
@click.option(
    "--no-vendor",
    is_flag=True,
    hidden=True,
    envvar="CIRRO_DEPLOY_NO_VENDOR",
    help="Build without pip (tests: also CIRRO_DEPLOY_NO_VENDOR=1, for the docs test offline).",
)
@click.pass_context
def deploy(
    ctx: click.Context,
    stage: str,
    region: str | None,
    profile: str | None,
    poll: float,
    dry_run: bool,
    bucket: str | None,
    skip_unsupported: bool,
    no_vendor: bool,
) -> None:
    """Build the project and create or update its stack `<service>-<stage>` through a change set.

    Uploads the lambda zips and the template to the deployment bucket (created if missing),
    shows the change set, executes it, follows the stack's events and prints the final status
    (with the resource that failed) and the stack's outputs. Exits 1 when the stack failed.
    """
    from cirrostratus.aws.build import BuildError, build_project
    from cirrostratus.aws.deploy import DeployError
    from cirrostratus.aws.deploy_skip import skip_unsupported as skip

    project, root, stack, region = _stage_region(ctx, stage, region)
    try:
        built = build_project(
            project, stage=stage, region=region, out=root / DEFAULT_OUT, vendor=not no_vendor
        )
    except BuildError as exc:
        raise CliError(str(exc)) from None
    template = built.template
    if skip_unsupported:
        template, skipped = skip(template)
        for name, why in skipped.items():
            click.secho(f"skipped {name}: {why}", fg="yellow", err=True)
    deployer = _deployer(stack, region, profile, poll)
    try:
        bucket = bucket or deployer.default_bucket()
        if deployer.ensure_bucket(bucket):
            click.echo(f"created deployment bucket {bucket}")
        url = deployer.upload(bucket, template, built.packages)
        cs_id, changes = deployer.change_set(url, {"DeploymentBucket": bucket}, dry_run=dry_run)
        if cs_id is None:
            click.echo(f"stack {stack}: no changes to deploy")
            return
        click.echo(f"change set for {stack} ({len(changes)} change(s)):")
        for change in changes:
            replace = " (replacement)" if change.get("Replacement") == "True" else ""
            click.echo(
                f"  {change.get('Action', '?'):<7} {change.get('LogicalResourceId', '')} "
                f"({change.get('ResourceType', '')}){replace}"
            )
        if dry_run:
            deployer.delete_change_set(cs_id)
            click.echo("dry run: change set deleted, nothing deployed")
            return
        report = deployer.execute(cs_id, emulator=skip_unsupported)
    except DeployError as exc:
        raise CliError(str(exc)) from None
    _print_report(report)
    if not report.ok:
        again = (
            "; fix the cause and deploy again: the failed stack is deleted and created anew"
            if report.status == "ROLLBACK_COMPLETE"
            else "; fix the cause and deploy again"
            if report.status == "UPDATE_ROLLBACK_COMPLETE"
            else ""
        )
        raise CliError(f"deploying {stack} failed ({report.status}){again}")


@click.command()
@_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def remove(
    ctx: click.Context,
    stage: str,
    region: str | None,
    profile: str | None,
    poll: float,
    yes: bool,
) -> None:
    """Delete the stack `<service>-<stage>` and wait until it is gone.

    Buckets that still hold objects cannot be deleted by CloudFormation; empty them first.
    """
    from cirrostratus.aws.deploy import DeployError

    _, _, stack, region = _stage_region(ctx, stage, region)
    if not yes:
        click.confirm(f"Delete stack {stack} in {region}?", abort=True)
    try:
        report = _deployer(stack, region, profile, poll).remove()
    except DeployError as exc:
        raise CliError(str(exc)) from None
    _print_report(report)
    if not report.ok:
        raise CliError(f"removing {stack} failed ({report.status})")
