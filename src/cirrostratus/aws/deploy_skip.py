"""`cirro deploy --skip-unsupported`: leave out what a CloudFormation emulator cannot create.

moto's CloudFormation (what the tests deploy to) cannot create some resource types that AWS
can. Rather than fail, or drop them silently, this mode removes them, replaces references to
them elsewhere (a `Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`; `DependsOn` entries are dropped)
by `skipped-<LogicalId>`, drops the outputs that name them, and returns what it did and why,
which `cirro deploy` prints.
Never use it against AWS: the stack would lack those resources. The list is in docs/aws.md.
"""

from __future__ import annotations

import copy
import re
from typing import Any

#: Resource type -> why moto (5.x) cannot create it from a template.
UNSUPPORTED: dict[str, str] = {
    "AWS::Batch::ComputeEnvironment": (
        "moto requires a ServiceRole, which AWS makes optional (its service-linked role)"
    ),
    "AWS::Batch::JobQueue": "its compute environments are skipped",
    "AWS::Timestream::Database": "moto's CloudFormation has no Timestream",
    "AWS::Timestream::Table": "moto's CloudFormation has no Timestream",
    "AWS::SNS::Subscription": (
        "moto's CloudFormation has no SNS subscriptions (it would skip them with only a warning)"
    ),
}

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(node: Any) -> set[str]:
    """The logical ids `node` refers to (Ref, Fn::GetAtt, Fn::Sub, DependsOn)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                if isinstance(value, list) and value:
                    found.add(str(value[0]))
                elif isinstance(value, str):
                    found.add(value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str):
                    found |= set(_SUB_NAME.findall(text))
                found |= references(value)
            elif key == "DependsOn":
                found |= {value} if isinstance(value, str) else set(value or [])
            else:
                found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def _replace(node: Any, gone: set[str], hits: set[str]) -> Any:
    """`node` with every reference to a `gone` logical id replaced by `skipped-<id>`."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in gone:
            hits.add(node["Ref"])
            return f"skipped-{node['Ref']}"
        if set(node) == {"Fn::GetAtt"} and (references(node) & gone):
            name = next(iter(references(node) & gone))
            hits.add(name)
            return f"skipped-{name}"
        out = {}
        for key, value in node.items():
            if key == "DependsOn":
                kept = [v for v in ([value] if isinstance(value, str) else value) if v not in gone]
                hits |= set([value] if isinstance(value, str) else value) & gone
                if kept:
                    out[key] = kept
            elif key == "Fn::Sub":
                out[key] = _replace_sub(value, gone, hits)
            else:
                out[key] = _replace(value, gone, hits)
        return out
    if isinstance(node, list):
        return [_replace(v, gone, hits) for v in node]
    return node


def _replace_sub(value: Any, gone: set[str], hits: set[str]) -> Any:
    def one(text: str) -> str:
        def swap(m: re.Match[str]) -> str:
            if m.group(1) in gone:
                hits.add(m.group(1))
                return f"skipped-{m.group(1)}"
            return m.group(0)

        return _SUB_NAME.sub(swap, text)

    if isinstance(value, str):
        return one(value)
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [one(value[0]), *(_replace(v, gone, hits) for v in value[1:])]
    return _replace(value, gone, hits)


def skip_unsupported(
    template: dict[str, Any], unsupported: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of `template` without the unsupported resources, and {name: what was done}.

    A resource that refers to a removed one stays, with the reference replaced by the string
    `skipped-<LogicalId>` (a state machine keeps running its Lambda states; a Batch state
    would fail at run time, as it must without a job queue); an output naming one is dropped.
    """
    unsupported = UNSUPPORTED if unsupported is None else unsupported
    out = copy.deepcopy(template)
    resources: dict[str, Any] = out.get("Resources", {})
    skipped = {
        lid: f"{r.get('Type')}: {unsupported[r.get('Type')]}"
        for lid, r in resources.items()
        if r.get("Type") in unsupported
    }
    gone = set(skipped)
    for lid in gone:
        del resources[lid]
    for lid, resource in list(resources.items()):
        hits: set[str] = set()
        resources[lid] = _replace(resource, gone, hits)
        if hits:
            skipped[lid] = (
                f"{resource.get('Type')}: kept, its references to {', '.join(sorted(hits))} "
                "replaced by skipped-<id>"
            )
    for name, output in list(out.get("Outputs", {}).items()):
        hit = sorted(references(output) & gone)
        if hit:
            del out["Outputs"][name]
            skipped[f"Outputs.{name}"] = f"dropped: refers to {', '.join(hit)}"
    return out, skipped
