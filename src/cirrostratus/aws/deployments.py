"""Live deployments by name: what `cirro deployments add` learns about a stack, kept on disk.

A deployment is found the way cirrus-mgmt finds one: the stack's outputs, and the environment
of its Lambda functions (CIRRUS_STATE_DB, CIRRUS_PROCESS_QUEUE_URL, CIRRUS_PAYLOAD_BUCKET, …).
The functions' environment is what a Cirrus 0.9 stack has (its outputs differ from ours), so
it comes first; our stack's outputs fill in the rest. Deployments are the user's, not a
project's: they live in `<config dir>/cirrostratus/deployments.json`, the config dir being
`$CIRRO_CONFIG_DIR`, else `$XDG_CONFIG_HOME`, else `~/.config`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Our stack's outputs -> the environment variable they stand for.
OUTPUT_ENV = {
    "StateTableName": "CIRRUS_STATE_DB",
    "StateEventsTableName": "CIRRO_EVENTS_TABLE",
    "ProcessQueueUrl": "CIRRUS_PROCESS_QUEUE_URL",
    "PublishTopicArn": "CIRRUS_PUBLISH_TOPIC_ARN",
    "FailedTopicArn": "CIRRUS_FAILED_TOPIC_ARN",
    "DataBucketName": "CIRRUS_DATA_BUCKET",
    "PayloadBucketName": "CIRRUS_PAYLOAD_BUCKET",
}


class DeploymentError(Exception):
    """A deployment that is unknown or cannot be read; the message is all the CLI prints."""


@dataclass
class Deployment:
    """One live stack: where it is and the environment its functions run with."""

    name: str
    stack: str
    region: str
    profile: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    functions: list[str] = field(default_factory=list)

    def session(self) -> Any:
        import boto3

        return boto3.session.Session(profile_name=self.profile, region_name=self.region)

    def need(self, variable: str) -> str:
        value = self.environment.get(variable)
        if not value:
            raise DeploymentError(
                f"deployment {self.name!r} has no {variable} (stack {self.stack}): "
                f"`cirro deployments add {self.name} --stack {self.stack}` reads it again"
            )
        return value


def config_file() -> Path:
    base = os.environ.get("CIRRO_CONFIG_DIR") or os.environ.get("XDG_CONFIG_HOME")
    root = Path(base) if base else Path.home() / ".config"
    return root / "cirrostratus" / "deployments.json"


def load_all() -> dict[str, Deployment]:
    path = config_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise DeploymentError(f"{path}: not readable JSON ({exc}); fix or delete it") from None
    return {name: Deployment(**value) for name, value in data.items()}


def _save_all(found: dict[str, Deployment]) -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {name: asdict(d) for name, d in sorted(found.items())}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def save(deployment: Deployment) -> None:
    found = load_all()
    found[deployment.name] = deployment
    _save_all(found)


def forget(name: str) -> None:
    found = load_all()
    if name not in found:
        raise DeploymentError(f"no deployment named {name!r} (see `cirro deployments list`)")
    del found[name]
    _save_all(found)


def get(name: str) -> Deployment:
    found = load_all()
    if name not in found:
        known = ", ".join(sorted(found)) or "none yet"
        raise DeploymentError(
            f"no deployment named {name!r} (known: {known}); add it with "
            f"`cirro deployments add {name} --stack STACK`"
        )
    return found[name]


def discover(name: str, stack: str, *, region: str, profile: str | None = None) -> Deployment:
    """Read `stack`'s outputs and its functions' environment into a Deployment."""
    deployment = Deployment(name, stack, region, profile)
    session = deployment.session()
    cf = session.client("cloudformation")
    try:
        described = cf.describe_stacks(StackName=stack)["Stacks"][0]
        pages = cf.get_paginator("list_stack_resources").paginate(StackName=stack)
        resources = [r for page in pages for r in page["StackResourceSummaries"]]
    except Exception as exc:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message") or str(exc)
        raise DeploymentError(f"stack {stack} in {region}: {message}") from None
    deployment.outputs = {
        o["OutputKey"]: str(o.get("OutputValue", "")) for o in described.get("Outputs", [])
    }
    functions = sorted(
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::Function" and r.get("PhysicalResourceId")
    )
    deployment.functions = functions
    lam = session.client("lambda")
    env: dict[str, str] = {}
    # the process function's environment last, so it wins (it has every CIRRUS_* Cirrus sets)
    for fn in sorted(functions, key=lambda f: f.endswith("-process")):
        try:
            config = lam.get_function_configuration(FunctionName=fn)
        except Exception:
            continue
        env.update(config.get("Environment", {}).get("Variables", {}))
    for output, variable in OUTPUT_ENV.items():
        if deployment.outputs.get(output) and not env.get(variable):
            env[variable] = deployment.outputs[output]
    deployment.environment = {k: v for k, v in env.items() if k.startswith(("CIRRUS_", "CIRRO_"))}
    if not deployment.environment.get("CIRRUS_STATE_DB"):
        raise DeploymentError(
            f"stack {stack} does not look like a Cirrus deployment: no function has "
            "CIRRUS_STATE_DB and there is no StateTableName output"
        )
    return deployment
