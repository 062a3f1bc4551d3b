"""Environment inheritance, exactly as Cirrus builds it (reference §3, seed tasks.rst).

Lambda:  provider.environment | component `environment` | `lambda.environment`.
Batch job definition: provider.environment | owning task's `environment` | AWS_REGION and
AWS_DEFAULT_REGION | the job definition's own `ContainerProperties.Environment` list.
Right-most wins; key order follows dict-update order. Values stay data (CloudFormation
intrinsics, serverless variables): a runtime decides what they mean locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def lambda_environment(
    provider: Mapping[str, Any], component: Mapping[str, Any], lambda_env: Mapping[str, Any]
) -> dict[str, Any]:
    """The environment a component's lambda runs with."""
    return {**provider, **component, **lambda_env}


def job_environment(
    inherited: Mapping[str, Any], region: str, own: list[Any] | None
) -> dict[str, Any]:
    """The environment of one `AWS::Batch::JobDefinition`.

    `inherited` is provider | task for a task's own job definitions and provider alone for
    any other. Only when it is non-empty are AWS_REGION and AWS_DEFAULT_REGION added (as
    Cirrus does; nothing is injected when nothing is inherited). Entries of the job
    definition's own `Environment` list (`{Name, Value}`) always win.
    """
    env: dict[str, Any] = dict(inherited)
    if env:
        env["AWS_REGION"] = region
        env["AWS_DEFAULT_REGION"] = region
    for entry in own or []:
        if isinstance(entry, Mapping) and "Name" in entry:
            env[str(entry["Name"])] = entry.get("Value")
    return env


def as_mapping(value: Any) -> dict[str, Any]:
    """`environment:` left empty in YAML is None; anything not a mapping counts as empty."""
    return dict(value) if isinstance(value, Mapping) else {}
