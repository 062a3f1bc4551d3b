"""Checking a process block and its features, collecting every problem with its place.

Validation never raises on its own: each check appends `"<where> <what is expected>"` to
a list, so one run reports everything wrong with a payload. It is also on the hot path
(every payload passes through it), so it is plain isinstance checks and cached patterns.
"""

from __future__ import annotations

from typing import Any

from cirrostratus.payload import patterns
from cirrostratus.payload.matching import check_collection_rules
from cirrostratus.payload.patterns import PatternError


class Block:
    """One process block, normalised: aliases resolved, defaults filled in."""

    __slots__ = (
        "collections",
        "raw",
        "replace",
        "tasks",
        "upload_options",
        "workflow",
        "workflow_options",
    )

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.workflow = ""
        # fresh defaults per block: a caller adding to payload.tasks must not touch another
        self.upload_options: dict[str, Any] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.workflow_options: dict[str, Any] = {}
        self.replace = False
        self.collections: str | list[str] | None = None

    def normalised(self) -> dict[str, Any]:
        """The block with `upload_options` and `tasks` under their current names.

        `output_options` and the legacy `functions` key stay as they were, so older tasks
        that read them still find them.
        """
        raw = self.raw
        fix_upload = raw.get("upload_options") is None and raw.get("output_options") is not None
        fix_tasks = (raw.get("tasks") is None and raw.get("functions") is not None) or isinstance(
            raw.get("tasks"), list
        )
        if not (fix_upload or fix_tasks):
            return raw
        out = dict(raw)
        if fix_upload:
            out["upload_options"] = self.upload_options
        if fix_tasks:
            out["tasks"] = self.tasks
        return out


def check_block(block: Any, where: str, problems: list[str]) -> Block | None:
    """Validate one process block; None if it is not even an object."""
    if not isinstance(block, dict):
        problems.append(f"{where} must be an object with at least a workflow")
        return None
    out = Block(block)
    workflow = block.get("workflow")
    if workflow is None:
        problems.append(f"{where}.workflow is required")
    elif not isinstance(workflow, str) or not workflow:
        problems.append(f"{where}.workflow must be a non-empty string")
    elif "/" in workflow:
        problems.append(f"{where}.workflow {workflow!r} must not contain '/'")
    else:
        out.workflow = workflow

    upload = _alias(block, "upload_options", "output_options", where, problems)
    if upload is not None:
        if isinstance(upload, dict):
            out.upload_options = upload
            template = upload.get("path_template")
            if template is not None and not isinstance(template, str):
                problems.append(f"{where}.upload_options.path_template must be a string")
        else:
            problems.append(f"{where}.upload_options must be an object")

    tasks = _alias(block, "tasks", "functions", where, problems)
    if tasks is not None:
        normal = _check_tasks(tasks, f"{where}.tasks", problems)
        if normal is not None:
            out.tasks = normal

    wopts = block.get("workflow_options")
    if wopts is not None:
        if isinstance(wopts, dict):
            out.workflow_options = wopts
        else:
            problems.append(f"{where}.workflow_options must be an object")

    replace = block.get("replace")
    if replace is not None:
        if isinstance(replace, bool):
            out.replace = replace
        else:
            problems.append(f"{where}.replace must be true or false")

    for key in ("collections", "input_collections"):
        value = block.get(key)
        if value is None:
            continue
        if (isinstance(value, str) and value) or (
            isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
        ):
            if out.collections is None:
                out.collections = value
        else:
            problems.append(f"{where}.{key} must be a non-empty string or list of strings")

    chain_filter = block.get("chain_filter")
    if chain_filter is not None:
        if not isinstance(chain_filter, str):
            problems.append(f"{where}.chain_filter must be a JSONPath filter string")
        else:
            try:
                patterns.jsonpath(filter_expression(chain_filter))
            except PatternError as exc:
                problems.append(f"{where}.chain_filter {chain_filter!r} {exc}")

    if "collection_matchers" in block or "collections" in out.upload_options:
        check_collection_rules(block, where, problems)
    return out


def filter_expression(chain_filter: str) -> str:
    """The JSONPath that selects the features a chain filter keeps."""
    return f"$.features[?({chain_filter})]"


def _alias(block: dict[str, Any], name: str, old: str, where: str, problems: list[str]) -> Any:
    value = block.get(name)
    legacy = block.get(old)
    if legacy is None:
        return value
    if value is None:
        return legacy
    if value != legacy:
        problems.append(
            f"{where}.{old} (the old name of {name}) and {where}.{name} are both set and"
            f" differ; keep only {name}"
        )
    return value


def _check_tasks(tasks: Any, where: str, problems: list[str]) -> dict[str, dict[str, Any]] | None:
    if isinstance(tasks, dict):
        ok = True
        for name, params in tasks.items():
            if not isinstance(params, dict):
                problems.append(f"{where}.{name} must be an object of task parameters")
                ok = False
        return tasks if ok else None
    if isinstance(tasks, list):  # stac-task's deprecated [{"name", "parameters"}] form
        out: dict[str, dict[str, Any]] = {}
        for i, entry in enumerate(tasks):
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name:
                problems.append(f"{where}[{i}].name must be a non-empty string")
                continue
            params = entry.get("parameters", {})
            if not isinstance(params, dict):
                problems.append(f"{where}[{i}].parameters must be an object")
                continue
            out[name] = params
        return out
    problems.append(f"{where} must be an object of {{task name: parameters}}")
    return None


def check_features(features: Any, problems: list[str]) -> tuple[list[str], list[str | None]]:
    """Validate `features`; returns the item ids and item collections found."""
    ids: list[str] = []
    cols: list[str | None] = []
    if not isinstance(features, list):
        problems.append("features must be a list of STAC items")
        return ids, cols
    for i, item in enumerate(features):
        if not isinstance(item, dict):
            problems.append(f"features[{i}] must be an object (a STAC item)")
            continue
        item_id = item.get("id")
        if isinstance(item_id, str) and item_id:
            ids.append(item_id)
        else:
            problems.append(f"features[{i}].id must be a non-empty string")
        col = item.get("collection")
        if col is None or isinstance(col, str):
            cols.append(col)
        else:
            problems.append(f"features[{i}].collection must be a string")
    return ids, cols
