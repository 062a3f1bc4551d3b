"""Components: tasks, functions and feeders (lambda components, tasks also Batch) and workflows.

Each is parsed from its `definition.yml` into a small typed record that keeps the raw
definition too, so nothing a user wrote is lost. The rules are Cirrus's (reference §2):
`lambda_enabled = bool(lambda) and lambda.enabled and enabled`, likewise for batch, and
serverless defaults for `timeout` (6 s) and `memorySize` (1024 MB).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cirrostratus.project import variables
from cirrostratus.project.environment import as_mapping, lambda_environment
from cirrostratus.project.problems import Problem

Kind = Literal["task", "function", "feeder"]
Source = Literal["built-in", "project"]

DEFAULT_TIMEOUT = 6  # serverless defaults
DEFAULT_MEMORY = 1024
CFN_SECTIONS = (
    "Resources",
    "Outputs",
    "Conditions",
    "Mappings",
    "Metadata",
    "Parameters",
    "Rules",
    "Transform",
)


@dataclass(kw_only=True)
class Component:
    """A task, function or feeder: a folder with `definition.yml` and maybe a lambda handler."""

    name: str
    kind: Kind
    directory: Path
    source: Source
    definition: dict[str, Any]
    description: str = ""
    enabled: bool = True
    environment: dict[str, Any] = field(default_factory=dict)
    lambda_config: dict[str, Any] = field(default_factory=dict)
    lambda_enabled: bool = False
    handler: str | None = None
    image: str | None = None
    timeout: int = DEFAULT_TIMEOUT
    memory_size: int = DEFAULT_MEMORY
    reserved_concurrency: int | None = None
    lambda_environment: dict[str, Any] = field(default_factory=dict)
    iam_statements: list[Any] = field(default_factory=list)
    python_requirements: list[str] = field(default_factory=list)
    overrides: str | None = None
    """Set to the overridden component's source ("built-in") when this one replaced it."""

    @property
    def definition_file(self) -> Path:
        return self.directory / "definition.yml"

    @property
    def readme(self) -> Path | None:
        path = self.directory / "README.md"
        return path if path.is_file() else None

    @property
    def handler_module(self) -> str | None:
        """`lambda_function.lambda_handler` → `lambda_function` (dotted, relative to directory)."""
        if not self.handler or "." not in self.handler:
            return None
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_function(self) -> str | None:
        return self.handler.rsplit(".", 1)[1] if self.handler and "." in self.handler else None

    @property
    def handler_file(self) -> Path | None:
        """The handler's source file (`a.b.fn` → `a/b.py`), whether or not it exists."""
        module = self.handler_module
        return None if module is None else self.directory / (module.replace(".", "/") + ".py")

    @property
    def active(self) -> bool:
        """Enabled and with something to run (Cirrus's notion of an enabled component)."""
        return self.enabled and self.lambda_enabled

    def flags(self) -> list[str]:
        """What `cirro show` lists after a name: DISABLED, source, lambda, batch."""
        out = [] if self.active else ["DISABLED"]
        if self.source == "built-in":
            out.append("built-in")
        elif self.overrides:
            out.append(f"overrides {self.overrides}")
        if self.lambda_enabled:
            out.append("lambda")
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary; `lambda.environment` is the merged environment."""
        lam = {k: v for k, v in self.lambda_config.items() if k not in ("enabled", "environment")}
        lam.update(
            enabled=self.lambda_enabled,
            handler=self.handler,
            timeout=self.timeout,
            memorySize=self.memory_size,
            environment=self.lambda_environment,
        )
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "overrides": self.overrides,
            "description": self.description,
            "enabled": self.enabled,
            "directory": str(self.directory),
            "environment": self.environment,
            "lambda": lam,
        }


@dataclass(kw_only=True)
class Task(Component):
    """A task: a lambda component that may also (or only) run as a Batch job."""

    batch_enabled: bool = False
    batch_resources: dict[str, Any] = field(default_factory=dict)
    parameters_schema: dict[str, Any] | None = None
    local_command: list[str] | None = None
    job_definitions: list[str] = field(default_factory=list)
    """Logical ids of the AWS::Batch::JobDefinition resources in this task's batch resources."""

    @property
    def active(self) -> bool:
        return self.enabled and (self.lambda_enabled or self.batch_enabled)

    def flags(self) -> list[str]:
        return [*super().flags(), *(["batch"] if self.batch_enabled else [])]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["batch"] = {
            "enabled": self.batch_enabled,
            "resources": self.batch_resources,
            "local": {"command": self.local_command} if self.local_command else None,
        }
        out["parameters"] = self.parameters_schema
        out["iamRoleStatements"] = self.iam_statements
        return out


@dataclass(kw_only=True)
class Workflow:
    """A Step Functions state machine: `definition` is the ASL dict, run unchanged."""

    name: str
    directory: Path
    source: Source
    raw: dict[str, Any]
    definition: dict[str, Any]
    description: str = ""
    enabled: bool = True
    state_machine_name: str | None = None
    test_payload: dict[str, Any] | None = None
    overrides: str | None = None

    @property
    def definition_file(self) -> Path:
        return self.directory / "definition.yml"

    @property
    def readme(self) -> Path | None:
        path = self.directory / "README.md"
        return path if path.is_file() else None

    @property
    def active(self) -> bool:
        return self.enabled

    def flags(self) -> list[str]:
        out = [] if self.enabled else ["DISABLED"]
        if self.source == "built-in":
            out.append("built-in")
        elif self.overrides:
            out.append(f"overrides {self.overrides}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "workflow",
            "source": self.source,
            "overrides": self.overrides,
            "description": self.description,
            "enabled": self.enabled,
            "directory": str(self.directory),
            "state_machine_name": self.state_machine_name,
            "definition": self.definition,
        }


class _Reporter:
    """Collects problems for one definition file."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def error(self, key: str, message: str) -> None:
        self.problems.append(Problem("error", self.file, key, message))

    def warning(self, key: str, message: str) -> None:
        self.problems.append(Problem("warning", self.file, key, message))


def parse_component(
    *,
    kind: Kind,
    directory: Path,
    source: Source,
    definition: Any,
    config: Mapping[str, Any],
    provider_environment: Mapping[str, Any],
    file: str,
    problems: list[Problem],
) -> Component | None:
    """Build a Component (a Task for kind "task") from a parsed definition.yml.

    Returns None when the definition is unusable (not a mapping); every other oddity is
    reported as a Problem and a sensible default is used, so one bad key never hides the rest.
    """
    report = _Reporter(file, problems)
    if not isinstance(definition, dict):
        report.error("", "definition.yml must be a mapping (keys such as description, lambda)")
        return None
    enabled = definition.get("enabled", True) is not False
    environment = _mapping(definition, "environment", report)
    lam = _mapping(definition, "lambda", report)
    # Cirrus pops `enabled` before testing the block, so `lambda: {enabled: true}` is no lambda.
    lambda_keys = set(lam) - {"enabled"}
    lambda_enabled = bool(lambda_keys) and lam.get("enabled", True) is not False and enabled
    handler = lam.get("handler")
    image = lam.get("image")
    timeout = _integer(lam, "timeout", DEFAULT_TIMEOUT, config, report, "lambda.")
    memory = _integer(lam, "memorySize", DEFAULT_MEMORY, config, report, "lambda.")
    reserved = lam.get("reservedConcurrency")
    reserved_int = variables.as_int(reserved, config) if reserved is not None else None
    requirements = lam.get("pythonRequirements") or {}
    include = requirements.get("include") if isinstance(requirements, dict) else None
    statements = lam.get("iamRoleStatements") or []
    common: dict[str, Any] = {
        "name": directory.name,
        "kind": kind,
        "directory": directory,
        "source": source,
        "definition": definition,
        "description": str(definition.get("description") or ""),
        "enabled": enabled,
        "environment": environment,
        "lambda_config": lam,
        "lambda_enabled": lambda_enabled,
        "handler": handler if isinstance(handler, str) else None,
        "image": image if isinstance(image, str) else None,
        "timeout": timeout,
        "memory_size": memory,
        "reserved_concurrency": reserved_int,
        "lambda_environment": lambda_environment(
            provider_environment, environment, _mapping(lam, "environment", report, "lambda.")
        ),
        "iam_statements": list(statements) if isinstance(statements, list) else [],
        "python_requirements": [str(r) for r in include] if isinstance(include, list) else [],
    }
    if lambda_enabled and not common["handler"] and not common["image"]:
        report.error(
            "lambda.handler",
            "is required when the lambda is enabled (e.g. lambda_function.lambda_handler), "
            "unless lambda.image is set",
        )
    if kind != "task":
        return Component(**common)
    batch = _mapping(definition, "batch", report)
    resources = _mapping(batch, "resources", report, "batch.")
    batch_enabled = bool(resources) and batch.get("enabled", True) is not False and enabled
    local = _mapping(batch, "local", report, "batch.")
    command = local.get("command")
    if command is not None and not (
        isinstance(command, list) and all(isinstance(c, str | int | float) for c in command)
    ):
        report.error(
            "batch.local.command", "must be a list of strings, e.g. [python, task.py, Ref::url]"
        )
        command = None
    schema = definition.get("parameters")
    if schema is not None and not isinstance(schema, dict):
        report.error("parameters", "must be a JSON Schema (a mapping) for process.tasks entries")
        schema = None
    job_definitions = [
        logical_id
        for logical_id, body in _mapping(resources, "Resources", report, "batch.resources.").items()
        if isinstance(body, dict) and body.get("Type") == "AWS::Batch::JobDefinition"
    ]
    return Task(
        **common,
        batch_enabled=batch_enabled,
        batch_resources=resources,
        parameters_schema=schema,
        local_command=[str(c) for c in command] if command else None,
        job_definitions=job_definitions,
    )


def parse_workflow(
    *, directory: Path, source: Source, definition: Any, file: str, problems: list[Problem]
) -> Workflow | None:
    """Build a Workflow from its definition.yml (serverless-step-functions state machine entry)."""
    report = _Reporter(file, problems)
    if not isinstance(definition, dict):
        report.error("", "definition.yml must be a mapping with `name` and `definition` keys")
        return None
    asl = definition.get("definition")
    if not isinstance(asl, dict):
        report.error(
            "definition",
            "is required: the state machine (ASL) as a mapping with StartAt and States",
        )
        asl = {}
    test_payload: dict[str, Any] | None = None
    test_file = directory / "test-payload.json"
    if test_file.is_file():
        try:
            loaded = json.loads(test_file.read_text(encoding="utf-8"))
            test_payload = loaded if isinstance(loaded, dict) else None
        except (OSError, ValueError) as exc:
            problems.append(
                Problem(
                    "warning",
                    str(Path(file).parent / "test-payload.json"),
                    "",
                    f"unreadable JSON ({exc})",
                )
            )
    name = definition.get("name")
    return Workflow(
        name=directory.name,
        directory=directory,
        source=source,
        raw=definition,
        definition=asl,
        description=str(asl.get("Comment") or ""),
        enabled=definition.get("enabled", True) is not False,
        state_machine_name=name if isinstance(name, str) else None,
        test_payload=test_payload,
    )


def _mapping(
    parent: Mapping[str, Any], key: str, report: _Reporter, prefix: str = ""
) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        report.error(prefix + key, f"must be a mapping, not {type(value).__name__}")
        return {}
    return as_mapping(value)


def _integer(
    parent: Mapping[str, Any],
    key: str,
    default: int,
    config: Mapping[str, Any],
    report: _Reporter,
    prefix: str,
) -> int:
    if key not in parent or parent[key] is None:
        return default
    value = variables.as_int(parent[key], config)
    if value is None:
        report.warning(prefix + key, f"{parent[key]!r} is not a number; using {default}")
        return default
    return value
