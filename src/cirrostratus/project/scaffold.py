"""`cirro init` and `cirro create`: the files Cirrus writes, from commented, runnable templates.

Everything here only ever creates files: `init` skips files that exist, and `create`
refuses an existing component, so neither can overwrite a user's work.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from cirrostratus.project.discovery import CONFIG_NAME
from cirrostratus.project.problems import ProjectError
from cirrostratus.project.workflow_scaffold import WorkflowStep, render_workflow, test_payload

TEMPLATES = Path(__file__).resolve().parent / "templates"
FOLDERS = ("functions", "feeders", "tasks", "workflows", "cloudformation")
GITIGNORE = "__pycache__/\nnode_modules/\n.DS_Store\n.cirrus\n.cirro/\n"
LAMBDA_RUNNER_IMAGE = "cirrusgeo/run-lambda:0.2.1"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

_FEEDER_BODY = """    # A feeder turns its event into Cirrus process payloads. This one expects STAC
    # items under "features" and returns one payload for them; set the workflow.
    return {
        "type": "FeatureCollection",
        "features": event.get("features", []),
        "process": [
            {
                "workflow": "publish-only",
                "upload_options": {"path_template": "${collection}/${id}"},
                "tasks": {},
            }
        ],
    }"""
_FUNCTION_BODY = """    # Do the work here and return a JSON-serialisable result.
    return event"""


def init_project(directory: Path) -> list[Path]:
    """Make `directory` a Cirrus project; return the paths created (existing files are kept).

    Like `cirrus init`: cirrus.yml, .gitignore, the five folders, and cloudformation/s3.yml
    and vpc.yml (the buckets and network the default cirrus.yml refers to).
    """
    directory.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    for name, content in (
        (CONFIG_NAME, (TEMPLATES / "cirrus.yml").read_text(encoding="utf-8")),
        (".gitignore", GITIGNORE),
    ):
        created += _write_new(directory / name, content)
    for folder in FOLDERS:
        path = directory / folder
        if not path.is_dir():
            path.mkdir()
            created.append(path)
    for template in ("s3.yml", "vpc.yml"):
        created += _write_new(
            directory / "cloudformation" / template,
            (TEMPLATES / template).read_text(encoding="utf-8"),
        )
    return created


def create_component(
    root: Path,
    kind: str,
    name: str,
    description: str,
    types: Iterable[str] = (),
    workflow_task: str = "publish",
    workflow_steps: Sequence[WorkflowStep] = (),
) -> list[Path]:
    """Create `<kind>s/<name>/` in the project at `root`; return the files written.

    kind is task, workflow, feeder or function; `types` ({"lambda", "batch"}) applies to
    tasks. A workflow runs `workflow_steps` in order (see `workflow_scaffold.step_for`),
    or else the lambda `workflow_task`. Raises ProjectError if the name is invalid or the
    component already exists.
    """
    if not _NAME.match(name):
        raise ProjectError(
            f"invalid name {name!r}: start with a letter; use letters, digits, '-' and '_' (e.g. copy-assets)"
        )
    if kind not in ("task", "workflow", "feeder", "function"):
        raise ProjectError(f"unknown component kind {kind!r}")
    directory = root / f"{kind}s" / name
    if directory.exists():
        raise ProjectError(f"{kind} {name!r} already exists at {directory}; nothing was changed")
    chosen = set(types) if kind == "task" else {"lambda"}
    if kind == "task" and (not chosen or not chosen <= {"lambda", "batch"}):
        raise ProjectError("a task needs -t lambda and/or -t batch")
    words = {
        "name": name,
        "kind": kind,
        "description": description,
        "description_yaml": json.dumps(description),
        "description_py": json.dumps(description),
        "class_name": _class_name(name),
        "logical": _class_name(name),
    }
    steps = list(workflow_steps) or [WorkflowStep(workflow_task)]
    files = _files(kind, chosen, words, steps)
    directory.mkdir(parents=True)
    try:
        for filename, content in files.items():
            (directory / filename).write_text(content, encoding="utf-8")
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return [directory / filename for filename in files]


def _files(
    kind: str, types: set[str], words: dict[str, str], steps: Sequence[WorkflowStep]
) -> dict[str, str]:
    readme = _render("component-readme.md", words)
    if kind == "workflow":
        return {
            "definition.yml": render_workflow(words["name"], words["description"], steps),
            "README.md": readme,
            "test-payload.json": test_payload(words["name"], steps),
        }
    parts = [
        f"# {words['name']}: a Cirrus {kind}. See README.md for what it does.\n"
        f"description: {words['description_yaml']}\n"
        "# Set false to disable the whole component (a project may override a built-in this way).\n"
        "enabled: true\n"
        "# Environment for this component's lambda and its Batch job definitions\n"
        "# (over cirrus.yml provider.environment).\n"
        "environment: {}\n"
    ]
    if kind == "task":
        parts.append(
            "# Optional: a JSON Schema for this task's entry in process.tasks, checked by\n"
            "# `cirro validate` and before `cirro run`. For example:\n"
            "# parameters:\n"
            "#   type: object\n"
            "#   properties:\n"
            "#     assets: {type: array, items: {type: string}}\n"
        )
    if "lambda" in types:
        parts.append(_render("definition-lambda.yml", words))
    if "batch" in types:
        parts.append(_render("definition-batch.yml", {**words, **_batch_words(words, types)}))
    files = {"definition.yml": "\n".join(parts), "README.md": readme}
    if "lambda" in types:
        handler = "lambda_function.py.tmpl" if kind == "task" else "function.py.tmpl"
        body = _FEEDER_BODY if kind == "feeder" else _FUNCTION_BODY
        files["lambda_function.py"] = _render(handler, {**words, "body": body})
    else:
        files["task.py"] = _render("task.py.tmpl", words)
    return files


def _batch_words(words: dict[str, str], types: set[str]) -> dict[str, str]:
    pad = " " * 12
    if "lambda" in types:
        container = (
            f"{pad}# Cirrus's lambda runner: fetches this task's lambda code and calls\n"
            f"{pad}# lambda_handler(payload). Locally, cirro calls the handler directly.\n"
            f"{pad}Image: '{LAMBDA_RUNNER_IMAGE}'\n"
            f"{pad}Command:\n"
            f"{pad}  - run\n"
            f"{pad}  - ${{self:service}}-${{self:provider.stage}}-{words['name']}\n"
            f"{pad}  - Ref::url"
        )
        return {"container": container, "local": ""}
    container = (
        f"{pad}# An image holding task.py (see its docstring); build and push it yourself.\n"
        f"{pad}Image: '#{{AWS::AccountId}}.dkr.ecr.#{{AWS::Region}}.amazonaws.com/{words['name']}:latest'\n"
        f"{pad}Command:\n"
        f"{pad}  - python\n"
        f"{pad}  - task.py\n"
        f"{pad}  - Ref::url"
    )
    local = (
        "  # How cirro runs this job locally (its image is not a Cirrus lambda runner), in\n"
        "  # this folder: Ref::url is the payload's URL; the job writes <url .json → _out.json>.\n"
        "  local:\n"
        "    command: [python, task.py, Ref::url]\n"
    )
    return {"container": container, "local": local}


def _render(template: str, words: dict[str, str]) -> str:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    for key, value in words.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _class_name(name: str) -> str:
    """`copy-assets` → `CopyAssets` (also a valid CloudFormation logical id prefix)."""
    return (
        "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part) or "Task"
    )


def _write_new(path: Path, content: str) -> list[Path]:
    if path.exists():
        return []
    path.write_text(content, encoding="utf-8")
    return [path]
