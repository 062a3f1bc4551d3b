"""`cirro build --diff`: what changed, resource by resource, since the last build.

Compares the template.json a previous build left in the output folder with the new one:
resources added, removed, and changed (with the top-level properties that differ), and
outputs added or removed. The Version ids carry a code digest, so a changed zip shows as
one version replaced by another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    action: str  # "added", "removed", "changed"
    logical_id: str
    type: str
    detail: str = ""

    def line(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.action]
        tail = f" ({self.detail})" if self.detail else ""
        return f"{sign} {self.logical_id} [{self.type}]{tail}"


def diff_templates(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """Changes from `old` (None: no previous build, everything is added) to `new`."""
    before = (old or {}).get("Resources", {}) or {}
    after = new.get("Resources", {}) or {}
    changes: list[Change] = []
    for logical_id in sorted(set(before) | set(after)):
        a, b = before.get(logical_id), after.get(logical_id)
        if a is None:
            changes.append(Change("added", logical_id, _type(b)))
        elif b is None:
            changes.append(Change("removed", logical_id, _type(a)))
        elif a != b:
            changes.append(Change("changed", logical_id, _type(b), _what(a, b)))
    outputs_before = set((old or {}).get("Outputs", {}) or {})
    outputs_after = set(new.get("Outputs", {}) or {})
    for name in sorted(outputs_after - outputs_before):
        changes.append(Change("added", name, "Output"))
    for name in sorted(outputs_before - outputs_after):
        changes.append(Change("removed", name, "Output"))
    return changes


def _type(body: Any) -> str:
    return str(body.get("Type", "?")) if isinstance(body, dict) else "?"


def _what(a: dict[str, Any], b: dict[str, Any]) -> str:
    if _type(a) != _type(b):
        return f"type {_type(a)} -> {_type(b)}"
    keys: list[str] = []
    pa, pb = a.get("Properties") or {}, b.get("Properties") or {}
    for key in sorted(set(pa) | set(pb)):
        if pa.get(key) != pb.get(key):
            keys.append(key)
    for key in sorted((set(a) | set(b)) - {"Properties", "Type"}):
        if a.get(key) != b.get(key):
            keys.append(key)
    return ", ".join(keys)
