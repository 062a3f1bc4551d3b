"""`cirro validate`: every problem in the project, with file and key; exit 1 on any error."""

from __future__ import annotations

import json

import click

from cirrostratus.cli.show import load_project


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.pass_context
def validate(ctx: click.Context, as_json: bool, strict: bool) -> None:
    """Check cirrus.yml, every definition, workflow references and the ASL of every workflow.

    Checks definitions against their JSON Schemas; that each workflow's Fn::GetAtt names a
    lambda and each "#{LogicalId}" a CloudFormation resource; Lambda limits (900 s,
    128-10240 MB); task READMEs; which components import boto3 or cirrus-lib (they call AWS
    themselves); and runs the ASL static checks. Exit 0 when there are no
    errors (warnings allowed unless --strict), 1 otherwise.
    """
    project = load_project(ctx, required=True)
    problems = project.validate()
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in problems], indent=2))
    else:
        for problem in problems:
            click.secho(str(problem), fg="red" if problem.severity == "error" else "yellow")
        from cirrostratus.cli.tables import plural

        summary = f"{plural(errors, 'error')}, {plural(warnings, 'warning')} in {project.root}"
        click.echo(summary if problems else f"{project.root}: no problems found")
    if errors or (strict and warnings):
        ctx.exit(1)
