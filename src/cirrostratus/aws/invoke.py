"""Invoke a deployed Lambda by its task or function name (`cirro task invoke --deployment`), and
list a deployment's functions (`cirro deployments show --lambdas`): cirrus-mgmt's
`invoke-lambda` and `list-lambdas`.

Names resolve against the stack's own `AWS::Lambda::Function` resources, read live (a function
added by a later deploy is found without `deployments add` again): the exact physical name
(or an ARN), else Cirrus's `<service>-<stage>-<name>`, the stack being `<service>-<stage>`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cirrostratus.aws.deployments import Deployment, DeploymentError


@dataclass
class Invoked:
    """What Lambda answered: the status code, FunctionError if the function raised, the
    bytes it returned, and the base64-decoded log tail when asked for."""

    function: str
    status: int
    function_error: str | None
    payload: bytes
    log_tail: str | None = None


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Message") or exc)


def stack_functions(deployment: Deployment) -> list[str]:
    """The physical names of the stack's Lambda functions, now."""
    cf = deployment.session().client("cloudformation")
    try:
        pages = cf.get_paginator("list_stack_resources").paginate(StackName=deployment.stack)
        resources = [r for page in pages for r in page["StackResourceSummaries"]]
    except Exception as exc:
        raise DeploymentError(f"stack {deployment.stack}: {_message(exc)}") from None
    return sorted(
        str(r["PhysicalResourceId"])
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::Function" and r.get("PhysicalResourceId")
    )


def resolve(deployment: Deployment, name: str, functions: list[str]) -> str:
    """NAME → the deployed function's name (see the module's docstring for the order)."""
    if name.startswith("arn:") or name in functions:
        return name
    prefixed = f"{deployment.stack}-{name}"
    if prefixed in functions:
        return prefixed
    short = [f.removeprefix(f"{deployment.stack}-") for f in functions]
    raise DeploymentError(
        f"no function {name!r} in stack {deployment.stack}; its functions: "
        f"{', '.join(short) or 'none'} (see `cirro deployments show {deployment.name} --lambdas`)"
    )


def invoke(
    deployment: Deployment,
    function: str,
    payload: bytes,
    *,
    asynchronous: bool = False,
    tail: bool = False,
) -> Invoked:
    """Call the function once: RequestResponse (or Event with `asynchronous`)."""
    lam = deployment.session().client("lambda")
    kwargs: dict[str, Any] = {
        "FunctionName": function,
        "Payload": payload,
        "InvocationType": "Event" if asynchronous else "RequestResponse",
    }
    if tail and not asynchronous:
        kwargs["LogType"] = "Tail"
    try:
        response = lam.invoke(**kwargs)
    except Exception as exc:
        raise DeploymentError(f"invoking {function}: {_message(exc)}") from None
    body = response.get("Payload")
    data = body.read() if body is not None else b""
    log = response.get("LogResult")
    return Invoked(
        function,
        int(response.get("StatusCode", 0)),
        response.get("FunctionError"),
        bytes(data),
        base64.b64decode(log).decode("utf-8", "replace") if log else None,
    )


def describe_functions(deployment: Deployment) -> list[dict[str, Any]]:
    """Each of the stack's functions as Lambda configures it (what `list-lambdas` shows)."""
    lam = deployment.session().client("lambda")
    out: list[dict[str, Any]] = []
    for name in stack_functions(deployment):
        try:
            config = lam.get_function_configuration(FunctionName=name)
        except Exception as exc:
            out.append({"name": name, "error": _message(exc)})
            continue
        out.append(
            {
                "name": name,
                "runtime": config.get("Runtime") or config.get("PackageType", ""),
                "handler": config.get("Handler", ""),
                "memory": config.get("MemorySize"),
                "timeout": config.get("Timeout"),
                "last_modified": config.get("LastModified", ""),
                "description": config.get("Description", ""),
            }
        )
    return out
