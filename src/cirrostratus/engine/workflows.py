"""The project's workflows, each compiled once into a state machine the engine reuses."""

from __future__ import annotations

from typing import Any

from cirrostratus.asl import AslDefinitionError, StateMachine, compile_definition
from cirrostratus.project import Project


class UnknownWorkflow(Exception):
    """A payload names a workflow the project does not have (the record goes FAILED)."""


class WorkflowRegistry:
    """Compiles a workflow the first time a payload asks for it; later payloads reuse it."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._machines: dict[str, StateMachine] = {}

    def get(self, name: str) -> StateMachine:
        machine = self._machines.get(name)
        if machine is not None:
            return machine
        workflow = self.project.workflows.get(name)
        if workflow is None:
            known = ", ".join(sorted(self.project.workflows)) or "none"
            raise UnknownWorkflow(
                f"workflow {name!r} does not exist in this project (workflows: {known})"
            )
        definition: Any = workflow.definition
        try:
            machine = compile_definition(definition, name=name)
        except AslDefinitionError as exc:
            raise UnknownWorkflow(
                f"workflow {name!r} ({workflow.directory}/definition.yml) does not compile: {exc}"
            ) from None
        self._machines[name] = machine
        return machine
