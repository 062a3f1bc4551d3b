"""`Project.validate()`: everything we can check without running anything.

Errors stop a project from working (bad schema, a workflow naming a lambda that does not
exist, an invalid ASL definition); warnings flag what works locally but would not, or
should not, deploy as written (a lambda over Lambda's limits, a task without a README).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from cirrostratus.project.components import Component, Task, Workflow
from cirrostratus.project.discovery import CONFIG_NAME
from cirrostratus.project.problems import Problem
from cirrostratus.project.references import workflow_references

if TYPE_CHECKING:
    from cirrostratus.project.project import Project

LAMBDA_MAX_TIMEOUT = 900
LAMBDA_MEMORY = (128, 10_240)


def validate_project(project: Project) -> list[Problem]:
    """Every problem in the project, loading problems first, in a stable order."""
    from cirrostratus.project.jsonschemas import check
    from cirrostratus.project.local_batch import spot_interruption

    problems = list(project.problems)
    if project.root is not None:
        for key, message in check(project.config, "cirrus.json"):
            problems.append(Problem("error", CONFIG_NAME, key, message))
        for key, message in spot_interruption(project.config)[1]:
            problems.append(Problem("error", CONFIG_NAME, key, message))
    components: list[Component] = [*project.functions.values(), *project.feeders.values()]
    for component in [*components, *project.tasks.values()]:
        problems += _component_problems(project, component)
    problems += _lambda_name_clashes(project)
    for workflow in project.workflows.values():
        problems += _workflow_problems(project, workflow)
    for name, resource in project.resources.items():
        if not isinstance(resource.body, dict) or not isinstance(resource.body.get("Type"), str):
            problems.append(
                Problem("error", resource.file, f"Resources.{name}.Type", "is required")
            )
    for job in project.job_definitions.values():
        key = _resource_key(job.task, job.logical_id)
        container = job.properties.get("ContainerProperties")
        if not isinstance(container, dict) or not container.get("Image"):
            problems.append(Problem("error", job.file, key, "has no ContainerProperties.Image"))
        elif job.runs_lambda and len(job.command) >= 2:
            for ref in workflow_references(
                job.command[1], key + ".Properties.ContainerProperties.Command[1]"
            ):
                if ref.kind == "lambda" and project.lambda_component(ref.name) is None:
                    problems.append(
                        Problem(
                            "warning",
                            job.file,
                            ref.key,
                            f"the lambda runner would run lambda {ref.name!r}, but no enabled lambda has that name",
                        )
                    )
    return _dedupe(problems)


def _component_problems(project: Project, component: Component) -> list[Problem]:
    from cirrostratus.project.jsonschemas import check, check_schema

    file = project.display(component.definition_file)
    out: list[Problem] = []
    schema = "task.json" if component.kind == "task" else "component.json"
    for key, message in check(component.definition, schema):
        out.append(Problem("error", file, key, message))
    if "iamRoleStatements" in component.definition:
        out.append(
            Problem(
                "warning",
                file,
                "iamRoleStatements",
                "top-level statements are ignored by Cirrus's build; move them under lambda:",
            )
        )
    if component.lambda_enabled:
        out += _lambda_problems(component, file)
    if component.source == "project":
        out += _aws_problems(project, component, file)
    if isinstance(component, Task):
        if component.readme is None:
            out.append(
                Problem(
                    "warning",
                    file,
                    "",
                    f"task {component.name!r} has no README.md; document its parameters there",
                )
            )
        if component.parameters_schema is not None:
            bad = check_schema(component.parameters_schema)
            if bad:
                out.append(
                    Problem("error", file, "parameters", f"is not a valid JSON Schema: {bad}")
                )
        if component.batch_enabled:
            if not component.job_definitions:
                out.append(
                    Problem(
                        "warning",
                        file,
                        "batch.resources.Resources",
                        "has no AWS::Batch::JobDefinition",
                    )
                )
            for logical_id in component.job_definitions:
                job = project.job_definitions.get(logical_id)
                if job is not None and not job.runs_lambda and not _has_local(component):
                    out.append(
                        Problem(
                            "warning",
                            file,
                            "batch.local.command",
                            f"is not set and {logical_id} does not use a Cirrus lambda-runner image, so "
                            "cirro cannot run it locally (set e.g. [python, task.py, Ref::url])",
                        )
                    )
    return out


def _aws_problems(project: Project, component: Component, file: str) -> list[Problem]:
    """A component whose code imports boto3 or cirrus-lib calls AWS on its own (see aws_imports)."""
    from cirrostratus.project.aws_imports import aws_imports

    found = aws_imports(component.directory)
    if not found:
        return []
    where = ", ".join(f"{i.module} in {project.display(i.file)}:{i.line}" for i in found)
    return [
        Problem(
            "warning",
            file,
            "",
            f"this {component.kind} calls AWS itself (imports {where}); run it with "
            "`--aws local` (or `aws: local` under custom.cirro in cirrus.yml), which gives it "
            "moto's AWS with the project's buckets, table, queues and topics",
        )
    ]


def _lambda_name_clashes(project: Project) -> list[Problem]:
    """Lambdas share one namespace on deploy: Cirrus keeps the first (functions, feeders, tasks)."""
    out = []
    seen: dict[str, Component] = {}
    for group in (project.functions, project.feeders, project.tasks):
        for component in group.values():
            if not component.lambda_enabled:
                continue
            first = seen.setdefault(component.name, component)
            if first is not component:
                out.append(
                    Problem(
                        "warning",
                        project.display(component.definition_file),
                        "lambda",
                        f"a {first.kind} named {component.name!r} also has a lambda; Cirrus deploys only "
                        f"the {first.kind}'s (rename one)",
                    )
                )
    return out


def _has_local(task: Task) -> bool:
    """A `batch.local` block was written (even a wrong one, which is reported elsewhere)."""
    batch = task.definition.get("batch")
    return isinstance(batch, dict) and batch.get("local") is not None


def _lambda_problems(component: Component, file: str) -> list[Problem]:
    out: list[Problem] = []
    hint = (
        " (too big for Lambda: consider `batch` for this task)" if component.kind == "task" else ""
    )
    if component.timeout > LAMBDA_MAX_TIMEOUT:
        out.append(
            Problem(
                "warning",
                file,
                "lambda.timeout",
                f"{component.timeout} s exceeds Lambda's 900 s limit{hint}",
            )
        )
    low, high = LAMBDA_MEMORY
    if not low <= component.memory_size <= high:
        out.append(
            Problem(
                "warning",
                file,
                "lambda.memorySize",
                f"{component.memory_size} MB is outside Lambda's {low}-{high} MB{hint}",
            )
        )
    handler_file = component.handler_file
    if component.handler and component.image is None:
        if handler_file is None:
            out.append(
                Problem(
                    "error",
                    file,
                    "lambda.handler",
                    "must look like module.function (e.g. lambda_function.lambda_handler)",
                )
            )
        elif not handler_file.is_file():
            out.append(
                Problem(
                    "error",
                    file,
                    "lambda.handler",
                    f"module file {handler_file.name} is missing from {component.directory.name}/",
                )
            )
    return out


def _workflow_problems(project: Project, workflow: Workflow) -> list[Problem]:
    from cirrostratus.project.jsonschemas import check

    file = project.display(workflow.definition_file)
    out = [
        Problem("error", file, key, message)
        for key, message in check(workflow.raw, "workflow.json")
    ]
    name = workflow.state_machine_name
    if name and not name.endswith(f"-{workflow.name}"):
        out.append(
            Problem(
                "warning",
                file,
                "name",
                f"should be ${{self:service}}-${{self:provider.stage}}-{workflow.name} "
                "(Cirrus's process starts workflows by that name)",
            )
        )
    for ref in workflow_references(workflow.definition):
        if ref.kind == "lambda":
            out += _lambda_reference(project, file, ref.name, ref.key)
        elif ref.name not in project.resources:
            out.append(_missing_resource(project, workflow, file, ref.name, ref.key))
    out += _asl_problems(workflow.definition, file)
    if workflow.test_payload is not None:
        test_file = project.display(workflow.directory / "test-payload.json")
        for text in project.validate_payload(workflow.test_payload):
            key, _, message = text.partition(" ")
            out.append(Problem("warning", test_file, key, message))
    return out


def _missing_resource(
    project: Project, workflow: Workflow, file: str, name: str, key: str
) -> Problem:
    """A `#{Name}` the project lacks: an error, except in a built-in workflow whose tasks the
    project overrides (its own copy-assets without a batch block, say). That workflow still
    runs their Lambda forms, so it is a warning naming what its Batch form would need."""
    overridden = sorted(
        task.name
        for task in project.tasks.values()
        if task.source == "project" and task.overrides == "built-in"
    )
    if workflow.source == "built-in" and overridden:
        return Problem(
            "warning",
            file,
            key,
            f"#{{{name}}} is not a CloudFormation resource of this project (it overrides the "
            f"built-in {', '.join(overridden)}): the built-in workflow {workflow.name} runs "
            "them on Lambda; their Batch form needs that resource",
        )
    return Problem(
        "error", file, key, f"#{{{name}}} is not a CloudFormation resource of this project"
    )


def _lambda_reference(project: Project, file: str, name: str, key: str) -> Iterator[Problem]:
    component = project.component(name)
    if component is None:
        yield Problem(
            "error", file, key, f"refers to {name!r}, which is not a task, function or feeder"
        )
    elif project.lambda_component(name) is None:
        yield Problem(
            "warning", file, key, f"refers to {component.kind} {name!r}, whose lambda is disabled"
        )


def _asl_problems(definition: dict[str, Any], file: str) -> list[Problem]:
    check_definition = _asl_checker()
    if check_definition is None or not definition:
        return []
    out = []
    for problem in check_definition(definition):
        state = getattr(problem, "state", None)
        severity = getattr(problem, "severity", "error")
        field = getattr(problem, "field", None)
        key = f"definition.States.{state}" if state else "definition"
        key = f"{key}.{field}" if field else key
        out.append(
            Problem(
                "warning" if severity == "warning" else "error",
                file,
                key,
                str(getattr(problem, "message", problem)),
            )
        )
    return out


def _asl_checker() -> Callable[[dict[str, Any]], list[Any]] | None:
    """The ASL static checker if the asl package provides it (it may not be built yet)."""
    try:
        module = importlib.import_module("cirrostratus.asl")
    except ImportError:
        return None
    checker: Callable[[dict[str, Any]], list[Any]] | None = getattr(
        module, "check_definition", None
    )
    return checker


def _resource_key(task: str | None, logical_id: str) -> str:
    return f"batch.resources.Resources.{logical_id}" if task else f"Resources.{logical_id}"


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """Drop repeats, and a second error on the same file and key (load and schema both see it)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for problem in problems:
        ident = (
            problem.file,
            problem.key,
            problem.message if problem.severity == "warning" else "",
        )
        if ident not in seen:
            seen.add(ident)
            out.append(problem)
    return out
