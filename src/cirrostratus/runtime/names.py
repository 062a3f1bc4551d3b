"""From the many ways a workflow names a function to the component that runs it.

Workflows say `!GetAtt publish.Arn`, `{"Fn::GetAtt": ["publish", "Arn"]}`, a Lambda ARN,
`${self:service}-${self:provider.stage}-publish`, or the deployed name `cirrus-dev-publish`;
the batch runner gets the same forms as `run <function> <url>`. All mean component `publish`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Container
from typing import Any

_LAMBDA_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$")
_VAR_PREFIX = re.compile(r"^(?:\$\{[^{}]+\}-?)+")


def function_ref(resource: Any) -> str | None:
    """The function name a Resource (or a FunctionName parameter) refers to, if any."""
    if isinstance(resource, dict) and len(resource) == 1:
        ((key, arg),) = resource.items()
        if key == "Fn::GetAtt":
            if isinstance(arg, list) and len(arg) == 2 and arg[1] == "Arn":
                return str(arg[0])
            if isinstance(arg, str) and arg.endswith(".Arn"):
                return arg[: -len(".Arn")]
        if key in ("Ref", "Fn::Sub") and isinstance(arg, str):
            return arg
        return None
    if isinstance(resource, str):
        if resource.startswith("!GetAtt "):
            rest = resource[len("!GetAtt ") :].strip()
            return rest[: -len(".Arn")] if rest.endswith(".Arn") else rest
        m = _LAMBDA_ARN.match(resource)
        if m:
            return m.group(1)
        if resource.startswith("arn:"):
            return None
        return resource
    return None


def component_name(
    ref: str,
    known: Container[str],
    *,
    fill: Callable[[str], str] | None = None,
) -> str | None:
    """Map a function reference to a known component name, or None.

    Tried in order: the name itself; the name of a Lambda ARN; `${...}-` prefixes removed;
    serverless variables filled by `fill`; then ever shorter `-`-suffixes (which strips
    `<service>-<stage>-` from deployed names such as `cirrus-dev-copy-assets`).
    """
    m = _LAMBDA_ARN.match(ref)
    if m:
        ref = m.group(1)
    candidates = [ref, _VAR_PREFIX.sub("", ref)]
    if fill is not None:
        with contextlib.suppress(ValueError):
            candidates.append(fill(ref))
    for cand in candidates:
        if cand in known:
            return cand
    for cand in candidates:
        parts = cand.split("-")
        for i in range(1, len(parts)):
            suffix = "-".join(parts[i:])
            if suffix in known:
                return suffix
    return None
