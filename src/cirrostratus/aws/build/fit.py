"""`cirro show tasks --fit`: does each task fit Lambda, measured on local runs?

The seed's "When to choose Lambda / Batch" as numbers: Lambda allows 15 minutes, 10,240 MB
and a 250 MB unzipped package (the zip goes through S3, so Lambda's 50 MB zipped quota for
direct uploads does not apply). We read what local runs recorded:
- durations from `.cirro/history.db` (each execution's states and their seconds; a state is
  attributed to the task its Resource names: a lambda by component name, a Batch job by the
  task owning its job definition);
- peak memory from `.cirro/logs/lambda/peak-memory.json` (each warm worker's high-water
  mark, written by the local lambda pool: runtime/peaks.py);
- package size from the last `cirro build` (`.cirro/build/packages/`), else the code alone.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cirrostratus.aws.build import names
from cirrostratus.project import Project
from cirrostratus.project.components import Task
from cirrostratus.project.references import workflow_references

MAX_SECONDS = 900.0
MAX_MEMORY_MB = 10240.0
MAX_UNZIPPED = 250 * 1024 * 1024
HEADROOM = 0.8  # closer than this to a limit, a run that grows a little fails
_WORKFLOW = re.compile(r"/workflow-([^/]+)/")


@dataclass
class Fit:
    """One task's verdict."""

    task: str
    kinds: list[str]
    package_bytes: int | None = None
    package_note: str = ""
    runs: int = 0
    max_seconds: float | None = None
    peak_mb: float | None = None
    fits_lambda: bool | None = None
    use: str = "unknown"
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_tasks(project: Project) -> dict[tuple[str, str], str]:
    """(workflow, state name) → task, for every Task state that names a task."""
    owners = {lid: jd.task for lid, jd in project.job_definitions.items() if jd.task}
    out: dict[tuple[str, str], str] = {}
    for workflow in project.workflows.values():
        for state, body in _task_states(workflow.definition):
            for ref in workflow_references(body):
                name = ref.name if ref.kind == "lambda" else owners.get(ref.name)
                if name in project.tasks and name not in ("pre-batch", "post-batch"):
                    out[(workflow.name, state)] = name
                    break
    return out


def _task_states(definition: Any) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    states = definition.get("States") if isinstance(definition, dict) else None
    for name, body in (states or {}).items():
        if not isinstance(body, dict):
            continue
        if body.get("Type") == "Task":
            found.append((str(name), body))
        for branch in body.get("Branches") or []:
            found += _task_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(body.get(key), dict):
                found += _task_states(body[key])
    return found


def durations(project: Project, history_db: Path) -> dict[str, list[float]]:
    """Seconds per task over every recorded execution (read-only; no file is created)."""
    if not history_db.is_file():
        return {}
    mapping = state_tasks(project)
    out: dict[str, list[float]] = {}
    try:
        conn = sqlite3.connect(f"file:{history_db}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}
    try:
        for payload_id, document in conn.execute("SELECT payload_id, document FROM history"):
            match = _WORKFLOW.search(f"/{payload_id}/")
            if match is None:
                continue
            try:
                states = json.loads(document).get("states") or []
            except (ValueError, AttributeError):
                continue
            for state in states:
                task = mapping.get((match.group(1), str(state.get("state"))))
                seconds = state.get("seconds")
                if task and isinstance(seconds, int | float):
                    out.setdefault(task, []).append(float(seconds))
    except sqlite3.Error:
        return out
    finally:
        conn.close()
    return out


def built_zips(build_dir: Path) -> dict[str, Path]:
    """Function logical id → its zip in the last build (read from that build's template)."""
    try:
        template = json.loads((build_dir / "template.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, Path] = {}
    for logical_id, body in (template.get("Resources") or {}).items():
        props = body.get("Properties") if isinstance(body, dict) else None
        if not isinstance(props, dict) or body.get("Type") != "AWS::Lambda::Function":
            continue
        key = (props.get("Code") or {}).get("S3Key")
        if isinstance(key, str):
            out[logical_id] = build_dir / "packages" / key.rsplit("/", 1)[-1]
    return out


def package_size(task: Task, zips: dict[str, Path]) -> tuple[int | None, int | None, str]:
    """(zipped, unzipped, note) from the last build, else the task's code alone."""
    import zipfile

    path = zips.get(names.function_id(task.name))
    if path is not None and path.is_file():
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(i.file_size for i in archive.infolist())
        return path.stat().st_size, unzipped, "from the last cirro build"
    if not task.lambda_enabled:
        return None, None, "no lambda"
    total = sum(p.stat().st_size for p in task.directory.rglob("*") if p.is_file())
    return None, total, "code only, unzipped (cirro build adds requirements)"


def fit_tasks(project: Project, *, state_root: Path, build_dir: Path) -> list[Fit]:
    from cirrostratus.runtime.peaks import read_peaks

    seconds = durations(project, state_root / "history.db")
    peaks = read_peaks(state_root / "logs")
    zips = built_zips(build_dir)
    out: list[Fit] = []
    for task in project.tasks.values():
        kinds = [
            k for k, on in (("lambda", task.lambda_enabled), ("batch", task.batch_enabled)) if on
        ]
        zipped, unzipped, note = package_size(task, zips)
        runs = seconds.get(task.name, [])
        peak = peaks.get(task.name, {}).get("peak_mb")
        fit = Fit(
            task=task.name,
            kinds=kinds,
            package_bytes=zipped if zipped is not None else unzipped,
            package_note=note,
            runs=len(runs),
            max_seconds=max(runs) if runs else None,
            peak_mb=float(peak) if isinstance(peak, int | float) else None,
        )
        _judge(fit, zipped, unzipped, task)
        out.append(fit)
    return out


def _judge(fit: Fit, zipped: int | None, unzipped: int | None, task: Task) -> None:
    over: list[str] = []
    near: list[str] = []
    for value, limit, what in (
        (fit.max_seconds, MAX_SECONDS, "duration"),
        (fit.peak_mb, MAX_MEMORY_MB, "memory"),
        (unzipped, MAX_UNZIPPED, "unzipped package"),
    ):
        if value is None:
            continue
        if value > limit:
            over.append(f"{what} over Lambda's limit")
        elif value > HEADROOM * limit:
            near.append(f"{what} within {100 - HEADROOM * 100:.0f}% of Lambda's limit")
    if fit.max_seconds is not None and fit.max_seconds > task.timeout and task.lambda_enabled:
        fit.reasons.append(
            f"ran {fit.max_seconds:.0f} s locally, over its lambda.timeout of {task.timeout} s"
        )
    if fit.peak_mb is not None and fit.peak_mb > task.memory_size and task.lambda_enabled:
        fit.reasons.append(
            f"peaked at {fit.peak_mb:.0f} MB, over its lambda.memorySize of {task.memory_size} MB"
        )
    if over:
        fit.fits_lambda, fit.use = False, "batch"
        fit.reasons = over + fit.reasons
    elif near:
        fit.fits_lambda, fit.use = True, "batch"
        fit.reasons = near + fit.reasons
    elif fit.max_seconds is None and fit.peak_mb is None:
        fit.fits_lambda, fit.use = None, "unknown"
        fit.reasons.insert(0, "no local runs recorded: run a payload through it first")
    else:
        fit.fits_lambda, fit.use = True, "lambda"
