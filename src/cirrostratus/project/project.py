"""The Project: cirrus.yml plus every component, built-ins first, the way Cirrus loads it.

Loading never raises for a bad component: each problem is recorded (file + key) and the rest
of the project still loads, so `cirro validate` can report everything at once. Only yaml and
the standard library are imported here; jsonschema waits until validation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrostratus.project import variables, yamlcfn
from cirrostratus.project.cloudformation import (
    ComputeEnvironment,
    JobDefinition,
    JobQueue,
    Resource,
    build_compute_environment,
    build_job_definition,
    build_job_queue,
)
from cirrostratus.project.components import (
    CFN_SECTIONS,
    Component,
    Kind,
    Source,
    Task,
    Workflow,
    parse_component,
    parse_workflow,
)
from cirrostratus.project.discovery import CONFIG_NAME
from cirrostratus.project.environment import as_mapping
from cirrostratus.project.problems import Problem

log = logging.getLogger(__name__)

BUILTINS_ROOT = Path(__file__).resolve().parent.parent / "builtins"
CIRRUS_BUILTINS: dict[str, frozenset[str]] = {
    "task": frozenset({"publish", "pre-batch", "post-batch"}),
    "function": frozenset({"process", "update-state", "api"}),
    "feeder": frozenset({"feed-rerun"}),
    "workflow": frozenset({"publish-only"}),
}
"""The built-ins Cirrus 0.9 itself ships: overriding one of these warns, as in Cirrus."""
"""The package's own Cirrus project (no cirrus.yml): loaded before every project."""
DEFAULT_CONFIG = Path(__file__).resolve().parent / "templates" / "cirrus.yml"
DEFAULT_REGION = "us-east-1"  # serverless's default when provider.region is absent
GROUP_DIRS: dict[Kind, str] = {"function": "functions", "feeder": "feeders", "task": "tasks"}


@dataclass
class Project:
    """A loaded Cirrus project. Build it with `Project.load(root)`."""

    root: Path | None
    builtins_root: Path
    config: dict[str, Any]
    region: str
    provider_environment: dict[str, Any]
    tasks: dict[str, Task] = field(default_factory=dict)
    functions: dict[str, Component] = field(default_factory=dict)
    feeders: dict[str, Component] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    cloudformation: dict[str, dict[str, Resource]] = field(default_factory=dict)
    """Every CloudFormation object by section (`Resources`, `Outputs`, ...) then logical id."""
    job_definitions: dict[str, JobDefinition] = field(default_factory=dict)
    job_queues: dict[str, JobQueue] = field(default_factory=dict)
    compute_environments: dict[str, ComputeEnvironment] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, root: Path | str | None = None, *, builtins_root: Path | None = None) -> Project:
        """Load the project at `root` (None = the built-ins alone, with Cirrus's default config).

        `builtins_root` replaces the package's built-in project (tests use a temporary one).
        """
        builtins = (builtins_root or BUILTINS_ROOT).resolve()
        root = Path(root).resolve() if root is not None else None
        problems: list[Problem] = []
        config_path = root / CONFIG_NAME if root is not None else DEFAULT_CONFIG
        config = _load_config(config_path, _display(config_path, root), problems)
        provider = config.get("provider")
        provider = provider if isinstance(provider, dict) else {}
        if root is not None and "environment" not in provider:
            problems.append(
                Problem(
                    "warning",
                    CONFIG_NAME,
                    "provider.environment",
                    "is missing; Cirrus needs it (use {})",
                )
            )
        region = variables.resolve(provider.get("region", DEFAULT_REGION), config)
        project = cls(
            root=root,
            builtins_root=builtins,
            config=config,
            region=region if isinstance(region, str) and "${" not in region else DEFAULT_REGION,
            provider_environment=as_mapping(provider.get("environment")),
            problems=problems,
        )
        project._load_components()
        project._load_workflows()
        project._load_cloudformation()
        return project

    def _folders(self, group: str) -> Iterator[tuple[Source, Path]]:
        yield "built-in", self.builtins_root / group
        if self.root is not None:
            yield "project", self.root / group

    def _entries(self, group: str) -> Iterator[tuple[Source, Path]]:
        for source, folder in self._folders(group):
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                if entry.name.startswith((".", "_")) or not entry.is_dir():
                    continue
                yield source, entry

    def _read_definition(self, directory: Path) -> tuple[Any, str] | None:
        path = directory / "definition.yml"
        file = self.display(path)
        if not path.is_file():
            self.problems.append(Problem("warning", file, "", "missing; this folder is skipped"))
            return None
        try:
            return yamlcfn.load_file(path), file
        except yamlcfn.YamlError as exc:
            self.problems.append(Problem("error", file, "", exc.detail))
            return None

    def _load_components(self) -> None:
        for kind, group in GROUP_DIRS.items():
            found: dict[str, Component] = {}
            for source, directory in self._entries(group):
                read = self._read_definition(directory)
                if read is None:
                    continue
                component = parse_component(
                    kind=kind,
                    directory=directory,
                    source=source,
                    definition=read[0],
                    config=self.config,
                    provider_environment=self.provider_environment,
                    file=read[1],
                    problems=self.problems,
                )
                if component is None:
                    continue
                self._override(found, component.name, component, kind)
                found[component.name] = component
            if kind == "task":
                self.tasks = {n: c for n, c in found.items() if isinstance(c, Task)}
            elif kind == "function":
                self.functions = found
            else:
                self.feeders = found

    def _override(self, found: dict[str, Any], name: str, new: Any, kind: str) -> None:
        old = found.get(name)
        if old is None:
            return
        new.overrides = old.source
        # Cirrus warns on every override of its own built-ins, and so do we; a project's own
        # `copy-assets` or `mirror` shadowing one of our extra examples is ordinary (Cirrus has
        # none by that name), so that is only logged at info (`cirro show` still says it).
        quiet = (
            old.source == "built-in"
            and new.source != "built-in"
            and name not in CIRRUS_BUILTINS.get(kind, ())
        )
        log.log(
            logging.INFO if quiet else logging.WARNING,
            "Duplicate %s declaration '%s', overriding the %s one",
            kind,
            name,
            old.source,
        )

    def _load_workflows(self) -> None:
        for source, directory in self._entries("workflows"):
            read = self._read_definition(directory)
            if read is None:
                continue
            workflow = parse_workflow(
                directory=directory,
                source=source,
                definition=read[0],
                file=read[1],
                problems=self.problems,
            )
            if workflow is not None:
                self._override(self.workflows, workflow.name, workflow, "workflow")
                self.workflows[workflow.name] = workflow

    def _load_cloudformation(self) -> None:
        for source, folder in self._folders("cloudformation"):
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.yml")):
                if path.name.startswith("."):
                    continue
                file = self.display(path)
                try:
                    template = yamlcfn.load_file(path)
                except yamlcfn.YamlError as exc:
                    self.problems.append(Problem("error", file, "", exc.detail))
                    continue
                label = "built-in" if source == "built-in" else file
                self._add_template(template, label, file, None)
        for task in self.tasks.values():
            if task.batch_enabled:
                label = f"task {task.name}" + (" [built-in]" if task.source == "built-in" else "")
                self._add_template(
                    task.batch_resources, label, self.display(task.definition_file), task.name
                )
        self._model_batch()

    def _add_template(self, template: Any, source: str, file: str, task: str | None) -> None:
        prefix = "batch.resources." if task else ""
        if template is None:
            return
        if not isinstance(template, dict):
            self.problems.append(
                Problem("error", file, prefix.rstrip("."), "must be a CloudFormation mapping")
            )
            return
        for section, objects in template.items():
            if section in ("AWSTemplateFormatVersion", "Description"):
                continue
            if section not in CFN_SECTIONS:
                self.problems.append(
                    Problem(
                        "warning",
                        file,
                        prefix + str(section),
                        "unknown CloudFormation section; ignored",
                    )
                )
                continue
            if not isinstance(objects, dict):
                self.problems.append(
                    Problem("error", file, prefix + section, "must be a mapping of names")
                )
                continue
            bucket = self.cloudformation.setdefault(section, {})
            for name, body in objects.items():
                previous = bucket.get(str(name))
                if previous is not None:
                    log.warning(
                        "Duplicate %s '%s' from %s overrides %s",
                        section,
                        name,
                        source,
                        previous.source,
                    )
                    if previous.source != "built-in":
                        self.problems.append(
                            Problem(
                                "warning",
                                file,
                                f"{prefix}{section}.{name}",
                                f"overrides the one from {previous.source}",
                            )
                        )
                bucket[str(name)] = Resource(
                    logical_id=str(name),
                    section=section,
                    body=body,
                    source=source,
                    file=file,
                    task=task,
                )

    def _model_batch(self) -> None:
        for resource in self.resources.values():
            if resource.type == "AWS::Batch::ComputeEnvironment":
                self.compute_environments[resource.logical_id] = build_compute_environment(
                    resource, self.config
                )
        for resource in self.resources.values():
            if resource.type == "AWS::Batch::JobQueue":
                self.job_queues[resource.logical_id] = build_job_queue(
                    resource, self.compute_environments
                )
            elif resource.type == "AWS::Batch::JobDefinition":
                owner = self.tasks.get(resource.task) if resource.task else None
                inherited = {**self.provider_environment, **(owner.environment if owner else {})}
                self.job_definitions[resource.logical_id] = build_job_definition(
                    resource, inherited, self.region, self.config
                )

    # ------------------------------------------------------------------ queries
    @property
    def resources(self) -> dict[str, Resource]:
        """Every CloudFormation resource (the `Resources` section) by logical id."""
        return self.cloudformation.get("Resources", {})

    @property
    def service(self) -> str:
        return str(self.config.get("service") or "cirrus")

    @property
    def stage(self) -> str:
        provider = self.config.get("provider")
        stage = variables.resolve(
            provider.get("stage", "dev") if isinstance(provider, dict) else "dev", self.config
        )
        return str(stage)

    def group(self, kind: str) -> dict[str, Any]:
        """Components of one group by plural or singular name: tasks, functions, feeders, workflows."""
        groups: dict[str, dict[str, Any]] = {
            "task": self.tasks,
            "function": self.functions,
            "feeder": self.feeders,
            "workflow": self.workflows,
        }
        return groups[kind.rstrip("s")]

    def lambda_component(self, name: str) -> Component | None:
        """The enabled lambda of that name, looking in functions, feeders then tasks."""
        for group in (self.functions, self.feeders, self.tasks):
            component = group.get(name)
            if component is not None and component.lambda_enabled:
                return component
        return None

    def component(self, name: str) -> Component | None:
        """A task, function or feeder of that name, lambda or not."""
        for group in (self.tasks, self.functions, self.feeders):
            if name in group:
                return group[name]
        return None

    def display(self, path: Path) -> str:
        return _display(path, self.root, self.builtins_root)

    def validate(self) -> list[Problem]:
        """Every problem: loading, schemas, limits, references and ASL checks (see validation.py)."""
        from cirrostratus.project.validation import validate_project

        return validate_project(self)

    def validate_payload(self, payload: dict[str, Any]) -> list[str]:
        """Check each `process.tasks.<name>` entry against that task's `parameters` schema."""
        from cirrostratus.project.parameters import validate_payload

        return validate_payload(self, payload)


def _load_config(path: Path, file: str, problems: list[Problem]) -> dict[str, Any]:
    try:
        data = yamlcfn.load_file(path)
    except yamlcfn.YamlError as exc:
        problems.append(Problem("error", file, "", exc.detail))
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(
            Problem("error", file, "", "must be a mapping (service, provider, custom, ...)")
        )
        return {}
    return data


def _display(path: Path, root: Path | None, builtins: Path | None = None) -> str:
    """A path as users read it: relative to the project, `<built-in>/...` for built-ins."""
    for base, label in ((root, ""), (builtins, "<built-in>/")):
        if base is not None:
            try:
                return label + path.relative_to(base).as_posix()
            except ValueError:
                pass
    return str(path)
