"""The Cirrus process payload: a STAC FeatureCollection plus `process`.

`Payload.from_dict` validates everything at once (raising one PayloadError that lists
every problem), resolves the old names (`output_options`, `functions`, `process` as a
bare dict) and computes the payload id once. It keeps a reference to the dict it was
given and never mutates it, so building a Payload costs no copy: treat `features` as
read-only, or copy them first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cirrostratus.payload import chain
from cirrostratus.payload.errors import PayloadError, json_kind
from cirrostratus.payload.ids import (
    PayloadIdParts,
    collections_part,
    payload_id,
    split_payload_id,
)
from cirrostratus.payload.validate import Block, check_block, check_features


class Payload:
    """A validated process payload. Build it with `Payload.from_dict` (the constructor
    takes already-validated parts and is not meant to be called directly)."""

    __slots__ = (
        "_block",
        "_data",
        "_parts",
        "collections",
        "features",
        "id",
        "item_ids",
        "workflow",
    )

    id: str
    features: list[dict[str, Any]]
    workflow: str
    collections: str
    item_ids: tuple[str, ...]

    def __init__(
        self, data: Mapping[str, Any], block: Block, pid: str, parts: PayloadIdParts
    ) -> None:
        self._data = data
        self._block = block
        self.id = pid
        self._parts = parts
        self.features = data.get("features") or []
        self.workflow = block.workflow
        self.collections = parts.collections
        self.item_ids = parts.item_ids

    @classmethod
    def from_dict(cls, data: Any, *, source: str | None = None) -> Payload:
        """Validate `data` and build the payload; PayloadError lists every problem found."""
        if not isinstance(data, dict):
            raise PayloadError(
                f"payload must be a JSON object with features and process (got {json_kind(data)})",
                source,
            )
        problems: list[str] = []
        doc_type = data.get("type")
        if doc_type is not None and doc_type != "FeatureCollection":
            problems.append(f"type must be 'FeatureCollection' (got {doc_type!r})")
        given_id = data.get("id")
        if given_id is not None and (not isinstance(given_id, str) or not given_id):
            problems.append("id must be a non-empty string (or left out to have one made)")
            given_id = None
        features = data.get("features")
        if features is None:
            problems.append("features is required (a list of STAC items)")
            item_ids: list[str] = []
            item_cols: list[str | None] = []
        else:
            item_ids, item_cols = check_features(features, problems)
        block = _check_process(data.get("process"), problems)

        pid = ""
        parts = PayloadIdParts("", "", ())
        if given_id is not None:
            try:
                parts = split_payload_id(given_id, label="id")
                pid = given_id
            except PayloadError as exc:
                problems.extend(exc.problems)
        elif block is not None and block.workflow and not problems:
            if not item_ids:
                problems.append(
                    "features is empty, so no payload id can be made; add an item or an id"
                )
            else:
                cols = collections_part(block.collections, item_cols)
                ordered = tuple(sorted(item_ids))
                try:
                    pid = payload_id(cols, block.workflow, "/".join(ordered))
                    parts = PayloadIdParts(cols, block.workflow, ordered)
                except PayloadError as exc:
                    problems.extend(exc.problems)
        if problems or block is None:
            raise PayloadError(problems, source)
        return cls(data, block, pid, parts)

    @property
    def process(self) -> dict[str, Any]:
        """The process block running now (`process[0]` of a chain), aliases resolved."""
        return self._block.normalised()

    @property
    def replace(self) -> bool:
        """Whether a COMPLETED or INVALID payload with this id runs again."""
        return self._block.replace

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        """Task parameters by task name (`process.tasks`, or the legacy `functions`)."""
        return self._block.tasks

    @property
    def upload_options(self) -> dict[str, Any]:
        """`process.upload_options` (or its old name `output_options`)."""
        return self._block.upload_options

    @property
    def workflow_options(self) -> dict[str, Any]:
        """`process.workflow_options`: parameters every task of the workflow receives."""
        return self._block.workflow_options

    @property
    def id_parts(self) -> PayloadIdParts:
        """The id split into collections, workflow and item ids (as the state store keys it).

        Its workflow is the one named in the id, which differs from `workflow` only when a
        payload arrives with an id of its own.
        """
        return self._parts

    def task_parameters(self, name: str) -> dict[str, Any]:
        """What task `name` is called with: workflow_options overlaid by its own options."""
        own = self._block.tasks.get(name)
        if not self._block.workflow_options:
            return dict(own) if own else {}
        return {**self._block.workflow_options, **(own or {})}

    def to_dict(self) -> dict[str, Any]:
        """The payload as a new top-level dict with `id` set and the current block's aliases
        resolved; everything below is shared with the input, not copied."""
        out = dict(self._data)
        out["id"] = self.id
        head = self._block.normalised()
        if head is not self._block.raw:
            process = out["process"]
            out["process"] = [head, *process[1:]] if isinstance(process, list) else head
        return out

    def next_payloads(self) -> list[dict[str, Any]]:
        """The payloads to submit when this one's workflow completes, each with its own id.

        Call it on the workflow's output payload. Empty for an unchained payload.
        """
        return [Payload.from_dict(d).to_dict() for d in chain.successors(self._data)]

    def __repr__(self) -> str:
        return f"Payload(id={self.id!r})"


def _check_process(process: Any, problems: list[str]) -> Block | None:
    if process is None:
        problems.append("process is required (an object with at least workflow)")
        return None
    if isinstance(process, dict):
        return check_block(process, "process", problems)
    if not isinstance(process, list):
        problems.append("process must be an object or a list of process blocks (a chain)")
        return None
    if not process:
        problems.append("process must not be an empty list")
        return None
    head = check_block(process[0], "process[0]", problems)
    for i, step in enumerate(process[1:], start=1):
        if isinstance(step, list):
            if not step:
                problems.append(f"process[{i}] must not be an empty list")
            for j, branch in enumerate(step):
                check_block(branch, f"process[{i}][{j}]", problems)
        else:
            check_block(step, f"process[{i}]", problems)
    return head
