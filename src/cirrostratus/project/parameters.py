"""Checking a payload's `process.tasks.<name>` entries against each task's `parameters` schema.

A task may declare `parameters:` (a JSON Schema) in definition.yml. This is optional: a task
without one accepts anything, as in Cirrus. A task that the payload's workflow uses but that
has no entry in `process.tasks` is checked as `{}` (what stac-task passes it), so required
parameters are reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cirrostratus.project.references import workflow_lambda_names

if TYPE_CHECKING:
    from cirrostratus.project.project import Project


def validate_payload(project: Project, payload: dict[str, Any]) -> list[str]:
    """Problems such as `process.tasks.copy-assets.assets must be array`; [] when fine."""
    from cirrostratus.project.jsonschemas import check

    process = payload.get("process") if isinstance(payload, dict) else None
    if isinstance(process, list):
        process = process[0] if process else None
    if not isinstance(process, dict):
        return []
    tasks = process.get("tasks")
    if isinstance(tasks, list):  # legacy list form [{"name":..., "parameters": {...}}]
        tasks = {t.get("name"): t.get("parameters", {}) for t in tasks if isinstance(t, dict)}
    if not isinstance(tasks, dict):
        tasks = {}
    names = set(tasks)
    workflow = project.workflows.get(str(process.get("workflow")))
    if workflow is not None:
        names |= workflow_lambda_names(workflow.definition)
    out: list[str] = []
    for name in sorted(n for n in names if isinstance(n, str)):
        task = project.tasks.get(name)
        if task is None or not task.parameters_schema:
            continue
        entry = tasks.get(name, {})
        for key, message in check(entry, task.parameters_schema, prefix=f"process.tasks.{name}"):
            out.append(f"{key} {message}")
    return out
