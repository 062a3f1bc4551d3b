"""`build_project`: the whole template, its zips, and the files written to `out`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cirrostratus.aws.build import names
from cirrostratus.aws.build.core import project_sections, provider_environment, renames_for
from cirrostratus.aws.build.defaults import add_missing_defaults
from cirrostratus.aws.build.functions import (
    DEFAULT_RUNTIME,
    LambdaSpec,
    function_resources,
    lambda_specs,
    runtime,
    wanted_runtime,
)
from cirrostratus.aws.build.model import BuildError, BuildResult, PackageTooLarge
from cirrostratus.aws.build.outputs import stack_outputs
from cirrostratus.aws.build.package import package
from cirrostratus.aws.build.resolve import Resolver, unresolved
from cirrostratus.aws.build.statemachines import state_machine_resources
from cirrostratus.aws.build.wiring import process_queue, rest_api, status_changes
from cirrostratus.project import Project
from cirrostratus.project.references import workflow_lambda_names

DESCRIPTION = "Cirrus STAC Processing Framework (built by cirro)"


def build_project(
    project: Project,
    *,
    stage: str = "dev",
    region: str = "us-west-2",
    out: Path,
    vendor: bool = True,
) -> BuildResult:
    """Build `project` into `out`: template.json, template.yaml and packages/*.zip.

    `vendor=False` packages code only (no pip): for checking a template offline; such zips
    lack their requirements and are not meant for deployment.
    """
    errors = [p for p in project.problems if p.severity == "error"]
    if errors:
        first = errors[0]
        raise BuildError(
            f"{first.file}: {first.key + ' ' if first.key else ''}{first.message} "
            f"({len(errors)} error(s); `cirro validate` lists them all)"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    warnings: list[str] = []
    resolver = Resolver(project.config, stage=stage, region=region)
    renames = renames_for(project)
    provider_env = provider_environment(project, resolver, renames)
    sections = project_sections(project, resolver, renames, provider_env)
    resources = sections.setdefault("Resources", {})
    packages: dict[str, Path] = {}
    specs = lambda_specs(project)
    function_ids: dict[str, str] = {}
    used = _used_lambdas(project)
    left_out: set[str] = set()
    shared: dict[tuple[str, str], tuple[str, Path]] = {}  # the builtins' one zip per arch
    for spec in specs:
        made = shared.get((spec.architecture, runtime(project, spec))) if spec.builtin else None
        if made is None:
            try:
                made = package(
                    project,
                    spec,
                    stage=stage,
                    out=out,
                    runtime=runtime(project, spec),
                    vendor_requirements=vendor,
                    warnings=warnings,
                )
            except PackageTooLarge as exc:
                if (
                    spec.component.source != "built-in"
                    or used.get(spec.name, "built-in") != "built-in"
                ):
                    raise
                left_out.add(spec.name)
                warnings.append(f"{exc}. Built-in, so left out rather than failing the build")
                continue
            if spec.builtin:
                shared[(spec.architecture, runtime(project, spec))] = made
        key, path = made
        packages[key] = path
        generated = function_resources(
            project,
            spec,
            stage=stage,
            key=key,
            resolver=resolver,
            renames=renames,
            provider_env=provider_env,
            warnings=warnings,
        )
        for logical_id, body in list(generated.items()):  # two functions on one named topic
            if body.get("Type") == "AWS::SNS::Topic" and resources.get(logical_id) == body:
                del generated[logical_id]
        _add(resources, generated, project.display(spec.component.definition_file))
        function_ids[spec.name] = names.function_id(spec.name)
    _runtime_warnings(project, specs, warnings)
    workflows: dict[str, str] = {}
    for workflow in project.workflows.values():
        if not workflow.enabled:
            continue
        missing = workflow_lambda_names(workflow.definition) & left_out
        if missing:
            warnings.append(
                f"built-in workflow {workflow.name} left out: it runs {', '.join(sorted(missing))} "
                "as a Lambda, whose package is too big for Lambda"
            )
            continue
        generated = state_machine_resources(
            project,
            workflow,
            stage=stage,
            resolver=resolver,
            renames=renames,
            functions=function_ids,
        )
        _add(resources, generated, project.display(workflow.definition_file))
        workflows[workflow.name] = names.state_machine_id(workflow.name)
    present = set(function_ids)
    for wiring in (
        process_queue(present),
        status_changes(present, list(workflows.values())),
        rest_api(present, project.service, stage),
    ):
        _add(resources, wiring, "the builtins' wiring")
    add_missing_defaults(sections, warnings)
    sections.setdefault("Outputs", {}).update(stack_outputs(resources, workflows, stage))
    template = _template(sections)
    left = {
        f"{section}.{name}: {', '.join(sorted(set(found)))}"
        for section, objects in template.items()
        if isinstance(objects, dict)
        for name, body in objects.items()
        if (found := unresolved(body))
    }
    if left:
        raise BuildError(
            f"unresolved serverless variable(s) in {'; '.join(sorted(left))}: define them in "
            "cirrus.yml (self:), the environment (env:), or give a default (${opt:x, 'v'})"
        )
    template_path = out / "template.json"
    _write(template, template_path)
    return BuildResult(
        template=template,
        template_path=template_path,
        packages=packages,
        stage=stage,
        region=region,
        warnings=warnings,
    )


def _used_lambdas(project: Project) -> dict[str, str]:
    """Lambda name → `project` when any enabled project workflow names it, else `built-in`.

    A built-in lambda too big for Lambda (a geo builtin with rasterio) that no project
    workflow uses is left out, with the built-in workflows that use it, instead of failing
    every project's build; one a project workflow uses is an error.
    """
    used: dict[str, str] = {}
    for workflow in project.workflows.values():
        if workflow.enabled:
            for name in workflow_lambda_names(workflow.definition):
                if used.get(name) != "project":
                    used[name] = workflow.source
    return used


def _runtime_warnings(project: Project, specs: list[LambdaSpec], warnings: list[str]) -> None:
    """One line per runtime moved up (cirrus.yml's python3.9 would otherwise warn per function)."""
    moved: dict[str, list[str]] = {}
    for spec in specs:
        wanted = wanted_runtime(project, spec)
        if wanted and not spec.builtin and runtime(project, spec) != wanted:
            moved.setdefault(wanted, []).append(spec.name)
    for wanted, which in moved.items():
        warnings.append(
            f"runtime {wanted} (provider.runtime or lambda.runtime) is not one Lambda accepts "
            f"for new functions; built {', '.join(which)} for {DEFAULT_RUNTIME}"
        )


def _add(resources: dict[str, Any], generated: dict[str, Any], source: str) -> None:
    for logical_id, body in generated.items():
        if logical_id in resources:
            raise BuildError(
                f"{source}: cirro build generates the resource {logical_id!r}, which "
                "cloudformation/ (or a task's batch.resources) already declares; rename yours"
            )
        resources[logical_id] = body


def _template(sections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": DESCRIPTION,
        "Parameters": {
            "DeploymentBucket": {
                "Type": "String",
                "Description": "The S3 bucket cirro deploy uploaded the lambda zips to",
            },
            **sections.get("Parameters", {}),
        },
    }
    for section in ("Metadata", "Mappings", "Conditions", "Rules", "Resources", "Outputs"):
        if sections.get(section):
            template[section] = sections[section]
    if sections.get("Transform"):
        template["Transform"] = sections["Transform"]
    return template


def _write(template: dict[str, Any], path: Path) -> None:
    """template.json, and template.yaml beside it (the same content, long-form intrinsics)."""
    import yaml

    path.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    path.with_suffix(".yaml").write_text(
        yaml.safe_dump(template, sort_keys=False, width=100), encoding="utf-8"
    )
