"""Payload ids: `<collections>/workflow-<workflow>/<sorted item ids joined by />`.

The id is a payload's identity in the state store (task parameters are not part of it),
so it has to be computed the same way everywhere and split back without guessing.
Collections may contain `/` and workflow names `_` or `-`; the separator `/workflow-`
is what splits, and a workflow name can never contain `/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from cirrostratus.payload.errors import PayloadError

SEPARATOR = "/workflow-"
NO_COLLECTIONS = "none"


class PayloadIdParts(NamedTuple):
    """The three parts of a payload id. `items` is the item-id part exactly as stored."""

    collections: str
    workflow: str
    item_ids: tuple[str, ...]

    @property
    def items(self) -> str:
        """The item-id part as it appears in the id (the Cirrus state-table `itemids`)."""
        return "/".join(self.item_ids)


def collections_part(
    given: str | Iterable[str] | None, item_collections: Iterable[str | None]
) -> str:
    """The `<collections>` part: the given value, else the sorted unique item collections.

    `given` is `process.collections` (or `process.input_collections`): a string is used as
    is, a list is joined with `/` in its own order. Items without a collection are ignored;
    with nothing left the part is `none` (Cirrus v0.9 wrote `n/o/n/e` here by mistake).
    """
    if given is not None:
        return given if isinstance(given, str) else "/".join(given)
    found = sorted({c for c in item_collections if c})
    return "/".join(found) if found else NO_COLLECTIONS


def payload_id(
    collections: str | Iterable[str], workflow: str, item_ids: str | Iterable[str]
) -> str:
    """Build a payload id. A list of item ids is sorted; a string is used as it is.

    Raises PayloadError when the parts could not be split back unambiguously.
    """
    cols = collections if isinstance(collections, str) else "/".join(collections)
    items = item_ids if isinstance(item_ids, str) else "/".join(sorted(item_ids))
    problems = []
    if not cols:
        problems.append("payload id collections part must not be empty")
    if SEPARATOR in cols:
        problems.append(f"payload id collections {cols!r} must not contain {SEPARATOR!r}")
    if not workflow:
        problems.append("payload id workflow must not be empty")
    elif "/" in workflow:
        problems.append(f"process.workflow {workflow!r} must not contain '/'")
    if problems:
        raise PayloadError(problems)
    return f"{cols}{SEPARATOR}{workflow}/{items}" if items else f"{cols}{SEPARATOR}{workflow}"


def split_payload_id(payload_id: str, *, label: str = "payload id") -> PayloadIdParts:
    """Split an id into collections, workflow and item ids (`payload_id` builds it back).

    `label` names the id in the error (`id` when it is a payload's own `id` field).
    """
    if not isinstance(payload_id, str):
        raise PayloadError(f"{label} must be a string (got {type(payload_id).__name__})")
    at = payload_id.find(SEPARATOR)
    workflow, _, items = payload_id[at + len(SEPARATOR) :].partition("/")
    if at <= 0 or not workflow:
        raise PayloadError(
            f"{label} {payload_id!r} must look like '<collections>/workflow-<workflow>/<item ids>'"
        )
    return PayloadIdParts(payload_id[:at], workflow, tuple(items.split("/")) if items else ())
