"""What a workflow definition points at: lambdas by component name, Batch resources by id.

Cirrus workflows name a lambda as `{"Fn::GetAtt": [name, "Arn"]}` (serverless-step-functions
maps the component name to its function) and a Batch queue or job definition as
`"#{LogicalId}"`. `${self:service}-${self:provider.stage}-<name>` strings (e.g. a lambda-runner
job's `lambda_function` parameter) also name a lambda.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

_HASH_REF = re.compile(r"#\{([A-Za-z0-9]+)\}")
_FUNCTION_NAME = re.compile(r"^\$\{self:service\}-\$\{self:provider\.stage\}-(.+)$")


@dataclass(frozen=True)
class Reference:
    """One reference: `lambda` (a component name) or `resource` (a CloudFormation logical id)."""

    kind: Literal["lambda", "resource"]
    name: str
    key: str
    """Dotted path inside the workflow's definition.yml, e.g. `definition.States.publish.Resource`."""


def workflow_references(definition: Any, prefix: str = "definition") -> Iterator[Reference]:
    for key, value in _walk(definition, prefix):
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            if isinstance(att, list) and att and isinstance(att[0], str):
                yield Reference("lambda", att[0], key)
        elif isinstance(value, str):
            match = _FUNCTION_NAME.match(value)
            if match:
                yield Reference("lambda", match.group(1), key)
            for name in _HASH_REF.findall(value):
                yield Reference("resource", name, key)


def workflow_lambda_names(definition: Any) -> set[str]:
    """Names of the lambda components a workflow definition references."""
    return {r.name for r in workflow_references(definition) if r.kind == "lambda"}


def _walk(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    yield key, value
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return
        for k, v in value.items():
            yield from _walk(v, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{key}[{i}]")
