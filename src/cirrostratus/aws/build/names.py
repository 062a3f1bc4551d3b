"""Logical ids: alphanumeric, as CloudFormation requires, named the way Serverless names them.

Cirrus 0.9 leaves ids as written, so a task named `bat-task` yields `bat-taskComputeEnvironment`:
Serverless rejects it, and inside `Fn::Sub` `${bat-taskComputeEnvironment}` is not even parsed
as a reference. We apply Serverless's own normalisation (first letter upper-cased, `-` → `Dash`,
`_` → `Underscore`, anything else non-alphanumeric dropped) to component names, and to resource
ids that are not already alphanumeric, then rewrite every reference to a renamed resource. Two
names that normalise to the same id are an error, never a silent merge.
"""

from __future__ import annotations

import re
from typing import Any

_ALNUM = re.compile(r"^[A-Za-z0-9]+$")


def normalize(name: str) -> str:
    """`update-state` → `UpdateDashstate`, `my_task` → `MyUnderscoretask` (Serverless's rule)."""
    text = name[:1].upper() + name[1:]
    text = text.replace("-", "Dash").replace("_", "Underscore")
    return re.sub(r"[^A-Za-z0-9]", "", text)


def is_alphanumeric(logical_id: str) -> bool:
    return bool(_ALNUM.match(logical_id))


def resource_id(logical_id: str) -> str:
    """A user resource's id: unchanged when already valid, else `bat-taskQueue` → `BatDashtaskQueue`."""
    return logical_id if is_alphanumeric(logical_id) else normalize(logical_id)


def function_id(name: str) -> str:
    return f"{normalize(name)}LambdaFunction"


def version_id(name: str) -> str:
    return f"{normalize(name)}LambdaVersion"


def log_group_id(name: str) -> str:
    return f"{normalize(name)}LogGroup"


def role_id(name: str) -> str:
    return f"{normalize(name)}IamRoleLambdaExecution"


def state_machine_id(name: str) -> str:
    return f"{normalize(name)}StepFunctionsStateMachine"


def state_machine_role_id(name: str) -> str:
    return f"{normalize(name)}StepFunctionsRole"


def rename_references(value: Any, renames: dict[str, str]) -> Any:
    """`value` with every reference to a renamed logical id rewritten.

    Covers `Ref`, `Fn::GetAtt` (list or `a.b`), `DependsOn`, `${X}`/`${X.Attr}` inside
    `Fn::Sub` strings and Cirrus's `#{X}` in plain strings.
    """
    if not renames:
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                out[key] = renames.get(item, item)
            elif key == "Fn::GetAtt" and isinstance(item, list) and item:
                out[key] = [renames.get(str(item[0]), item[0]), *item[1:]]
            elif key == "Fn::GetAtt" and isinstance(item, str) and "." in item:
                head, tail = item.split(".", 1)
                out[key] = f"{renames.get(head, head)}.{tail}"
            elif key == "DependsOn":
                out[key] = (
                    [renames.get(d, d) for d in item]
                    if isinstance(item, list)
                    else renames.get(item, item)
                )
            else:
                out[key] = rename_references(item, renames)
        return out
    if isinstance(value, list):
        return [rename_references(item, renames) for item in value]
    if isinstance(value, str) and ("${" in value or "#{" in value):
        return _rename_placeholders(value, renames)
    return value


_PLACEHOLDER = re.compile(r"([#$])\{([^}!]+?)(\.[A-Za-z0-9.]+)?\}")


def _rename_placeholders(text: str, renames: dict[str, str]) -> str:
    def swap(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in renames:
            return match.group(0)
        return f"{match.group(1)}{{{renames[name]}{match.group(3) or ''}}}"

    return _PLACEHOLDER.sub(swap, text)
