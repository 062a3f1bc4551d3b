"""What `cirro create workflow --task ...` writes: one step per task, in the shape that runs.

A lambda task is one Task state (`Fn::GetAtt [task, Arn]`). A batch-only task cannot be
reached that way (it has no lambda), so it gets Cirrus's Batch block: a one-branch Parallel
running pre-batch → `batch:submitJob.sync` on the task's own job queue and definition →
post-batch. A task that is both gets a Choice on `process.tasks.<task>.batch`, as Cirrus
projects write it, between the two. Beside the definition goes `test-payload.json`, the
example payload Cirrus keeps with a workflow, so the workflow can be run at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cirrostratus.project.problems import ProjectError
from cirrostratus.project.project import Project

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class WorkflowStep:
    """One task of a new workflow and how it can run (at least one of lambda_ and batch)."""

    task: str
    lambda_: bool = True
    batch: bool = False
    job_queue: str = ""
    """Logical id of the task's AWS::Batch::JobQueue (batch steps only)."""
    job_definition: str = ""
    """Logical id of the task's AWS::Batch::JobDefinition (batch steps only)."""

    @property
    def entry(self) -> str:
        """The name of the step's first state (what the previous step's Next points to)."""
        if self.lambda_ and self.batch:
            return f"{self.task}-lambda-or-batch"
        return self.task


def step_for(project: Project, name: str) -> WorkflowStep:
    """How `name` runs in `project`: its lambda, its Batch job, or a Choice between them.

    Raises ProjectError naming the components that could be used when `name` is none of them.
    """
    component = project.component(name)
    task = project.tasks.get(name)
    batch = task is not None and task.batch_enabled and bool(task.job_definitions)
    lambda_ = component is not None and component.lambda_enabled
    if not (lambda_ or batch):
        usable = sorted(
            c.name
            for group in (project.tasks, project.functions, project.feeders)
            for c in group.values()
            if c.lambda_enabled or getattr(c, "batch_enabled", False)
        )
        why = "is disabled" if component is not None else "is no task, function or feeder"
        raise ProjectError(
            f"--task {name}: {name!r} {why} in this project; "
            f"choose one of: {', '.join(usable) or '(none)'} (or create it first: "
            f"cirro create task -t lambda {name} ...)"
        )
    if not batch or task is None:
        return WorkflowStep(name)
    queues = [
        r.logical_id
        for r in project.resources.values()
        if r.task == name and r.type == "AWS::Batch::JobQueue"
    ]
    return WorkflowStep(
        name,
        lambda_=lambda_,
        batch=True,
        job_queue=queues[0] if queues else _camel(name) + "JobQueue",
        job_definition=task.job_definitions[0],
    )


def render_workflow(name: str, description: str, steps: Sequence[WorkflowStep]) -> str:
    """The workflow's definition.yml: the header, each step's states in order, a Fail state."""
    if not steps:
        raise ProjectError("a workflow needs at least one task")
    header = _render(
        "workflow-definition.yml",
        {"name": name, "description_yaml": json.dumps(description), "start": steps[0].entry},
    )
    states = []
    for i, step in enumerate(steps):
        follow = f"Next: {steps[i + 1].entry}" if i + 1 < len(steps) else "End: true"
        states.append(_step_states(step, follow))
    return header + "".join(states) + "    failure:\n      Type: Fail\n"


def _step_states(step: WorkflowStep, follow: str) -> str:
    words = {
        "task": step.task,
        "next": follow,
        "queue": step.job_queue,
        "definition": step.job_definition,
    }
    if not step.batch:
        return _render("workflow-state-lambda.yml", {**words, "state": step.task})
    if not step.lambda_:
        return _render("workflow-state-batch.yml", {**words, "state": step.task})
    lambda_state = _render("workflow-state-lambda.yml", {**words, "state": step.task})
    batch_state = _render("workflow-state-batch.yml", {**words, "state": f"{step.task}-batch"})
    choice = _render("workflow-state-choice.yml", words)
    return choice + lambda_state + batch_state


def test_payload(workflow: str, steps: Sequence[WorkflowStep]) -> str:
    """An example payload for the new workflow: one small STAC item, each task's parameters
    (with `batch: false` for a task that can run on either, to show the switch)."""
    tasks: dict[str, Any] = {}
    for step in steps:
        tasks[step.task] = {"batch": False} if step.lambda_ and step.batch else {}
    payload = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": "example-1",
                "collection": "example",
                "geometry": {"type": "Point", "coordinates": [10.0, 50.0]},
                "bbox": [10.0, 50.0, 10.0, 50.0],
                "properties": {"datetime": "2024-01-01T00:00:00Z"},
                "links": [],
                "assets": {},
            }
        ],
        "process": {
            "workflow": workflow,
            "upload_options": {"path_template": "${collection}/${id}"},
            "tasks": tasks,
        },
    }
    return json.dumps(payload, indent=2) + "\n"


def _camel(name: str) -> str:
    """`copy-assets` → `CopyAssets`, the prefix `cirro create task` gives Batch resources."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


def _render(template: str, words: dict[str, str]) -> str:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    for key, value in words.items():
        text = text.replace("{{" + key + "}}", value)
    return text
