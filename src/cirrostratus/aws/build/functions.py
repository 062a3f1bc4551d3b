"""Lambda functions: Function + Version + LogGroup + Role each, named as Serverless names them.

Functions are `<service>-<stage>-<name>` (what Cirrus's Batch lambda runner and the builtins
expect), logical ids `<Name>LambdaFunction` (names.py). The builtins run our own handlers
(`cirrostratus.aws.handlers.<name>.lambda_handler`); user components run their own handler
from their folder. Environment: provider < component `environment` < `lambda.environment`
(project/environment.py). The Version's id carries the code key's digest, so a new zip
publishes a new version, as Serverless does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cirrostratus.aws.build import events, iam, names
from cirrostratus.aws.build.core import env_value, event_db, prepare
from cirrostratus.aws.build.model import BuildError
from cirrostratus.aws.build.resolve import Resolver
from cirrostratus.project import Project
from cirrostratus.project.components import Component
from cirrostratus.project.environment import as_mapping, lambda_environment

BUILTIN_HANDLERS = (
    "process",
    "update-state",
    "api",
    "pre-batch",
    "post-batch",
    "publish",
    "feed-rerun",
)
DEFAULT_RUNTIME = "python3.12"
SUPPORTED_RUNTIMES = ("python3.11", "python3.12", "python3.13")
#: serverless function keys we turn into properties; anything else is reported, not lost silently
_HANDLED_KEYS = {
    "handler",
    "image",
    "memorySize",
    "timeout",
    "environment",
    "iamRoleStatements",
    "pythonRequirements",
    "enabled",
    "description",
    "runtime",
    "architecture",
    "layers",
    "reservedConcurrency",
    "vpc",
    "events",
    "tags",
    "package",
}


@dataclass
class LambdaSpec:
    """One function to package and declare."""

    component: Component
    builtin: bool

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def handler(self) -> str:
        if self.builtin:
            module = self.name.replace("-", "_")
            return f"cirrostratus.aws.handlers.{module}.lambda_handler"
        return str(self.component.handler)

    @property
    def architecture(self) -> str:
        arch = self.component.lambda_config.get("architecture") or "x86_64"
        return "arm64" if arch in ("arm64", "aarch64") else "x86_64"


def lambda_specs(project: Project) -> list[LambdaSpec]:
    """Every packaged lambda, Cirrus's order (functions, feeders, tasks), first name wins."""
    specs: dict[str, LambdaSpec] = {}
    for group in (project.functions, project.feeders, project.tasks):
        for component in group.values():
            if not component.lambda_enabled or component.name in specs:
                continue
            if not component.handler:
                continue  # container-image lambdas: declared, not packaged (see below)
            builtin = component.source == "built-in" and component.name in BUILTIN_HANDLERS
            specs[component.name] = LambdaSpec(component, builtin)
    return list(specs.values())


def function_name(project: Project, stage: str, name: str) -> str:
    return f"{project.service}-{stage}-{name}"


def wanted_runtime(project: Project, spec: LambdaSpec) -> str | None:
    """The runtime the component or cirrus.yml's provider asks for, if any."""
    provider = project.config.get("provider")
    wanted = spec.component.lambda_config.get("runtime") or (
        provider.get("runtime") if isinstance(provider, dict) else None
    )
    return str(wanted) if wanted else None


def runtime(project: Project, spec: LambdaSpec) -> str:
    """The runtime: as asked when Lambda still accepts it, else DEFAULT_RUNTIME.

    Builtins always get DEFAULT_RUNTIME: our handlers need Python 3.11 or later.
    """
    wanted = wanted_runtime(project, spec)
    if spec.builtin or not wanted or wanted not in SUPPORTED_RUNTIMES:
        return DEFAULT_RUNTIME
    return wanted


def function_resources(
    project: Project,
    spec: LambdaSpec,
    *,
    stage: str,
    key: str,
    resolver: Resolver,
    renames: dict[str, str],
    provider_env: dict[str, Any],
    warnings: list[str],
) -> dict[str, Any]:
    """The four resources of one function."""
    component = spec.component
    lam = component.lambda_config
    file = project.display(component.definition_file)
    fname = function_name(project, stage, spec.name)
    env = lambda_environment(
        provider_env,
        prepare(component.environment, resolver, renames),
        prepare(as_mapping(lam.get("environment")), resolver, renames),
    )
    if spec.name == "process" and spec.builtin:
        env.setdefault(
            "CIRRUS_BASE_WORKFLOW_ARN",
            {
                "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
                f":stateMachine:{project.service}-{stage}-"
            },
        )
    for extra in sorted(set(lam) - _HANDLED_KEYS):
        warnings.append(f"{file}: lambda.{extra} is a Serverless key cirro build does not use")
    triggers = events.Triggers()
    if lam.get("events") and spec.name in events.WIRED:
        warnings.append(
            f"{file}: lambda.events of '{spec.name}' are not used: cirro build wires "
            f"{spec.name} itself (docs/build.md)"
        )
    elif lam.get("events"):
        triggers = events.translate(spec.name, prepare(lam["events"], resolver, renames), file)
    statements = [
        *(iam.core_access(spec.name, event_db(project) != "timestream") if spec.builtin else []),
        *_statements(component.definition.get("iamRoleStatements"), file, "iamRoleStatements"),
        *_statements(lam.get("iamRoleStatements"), file, "lambda.iamRoleStatements"),
    ]
    statements = [*prepare(statements, resolver, renames), *triggers.statements]
    vpc = _vpc(project, lam, resolver, renames)
    fid, rid, lid = (
        names.function_id(spec.name),
        names.role_id(spec.name),
        names.log_group_id(spec.name),
    )
    props: dict[str, Any] = {
        "FunctionName": fname,
        "Handler": spec.handler,
        "Runtime": runtime(project, spec),
        "Code": {"S3Bucket": {"Ref": "DeploymentBucket"}, "S3Key": key},
        "MemorySize": component.memory_size,
        "Timeout": component.timeout,
        "Role": {"Fn::GetAtt": [rid, "Arn"]},
        "Architectures": [spec.architecture],
        "Environment": {"Variables": {k: env_value(v) for k, v in env.items()}},
    }
    if component.description:
        props["Description"] = component.description[:256]
    if component.reserved_concurrency is not None:
        props["ReservedConcurrentExecutions"] = component.reserved_concurrency
    if lam.get("layers"):
        props["Layers"] = prepare(lam["layers"], resolver, renames)
    if vpc:
        props["VpcConfig"] = vpc
    if spec.name == "update-state" and spec.builtin:
        props["DeadLetterConfig"] = {"TargetArn": {"Fn::GetAtt": ["UpdateStateDLQ", "Arn"]}}
    if isinstance(lam.get("tags"), dict):
        props["Tags"] = [{"Key": str(k), "Value": str(v)} for k, v in lam["tags"].items()]
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    log_props: dict[str, Any] = {"LogGroupName": f"/aws/lambda/{fname}"}
    retention = project.config.get("provider", {}).get("logRetentionInDays")
    if isinstance(retention, int):
        log_props["RetentionInDays"] = retention
    return {
        lid: {"Type": "AWS::Logs::LogGroup", "Properties": log_props},
        rid: iam.lambda_role(fname, statements, vpc=bool(vpc)),
        fid: {"Type": "AWS::Lambda::Function", "DependsOn": [lid], "Properties": props},
        f"{names.version_id(spec.name)}{digest}": {
            "Type": "AWS::Lambda::Version",
            "DeletionPolicy": "Retain",
            "Properties": {"FunctionName": {"Ref": fid}},
        },
        **triggers.resources,
    }


def _statements(value: Any, file: str, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
        raise BuildError(
            f"{file}: {field} must be a list of IAM statements (Effect, Action, Resource)"
        )
    return list(value)


def _vpc(
    project: Project, lam: dict[str, Any], resolver: Resolver, renames: dict[str, str]
) -> dict[str, Any] | None:
    """provider.vpc (or the function's own `vpc`) as a VpcConfig, as Serverless applies it."""
    provider = project.config.get("provider")
    vpc = lam.get("vpc", provider.get("vpc") if isinstance(provider, dict) else None)
    if not isinstance(vpc, dict):
        return None
    vpc = prepare(vpc, resolver, renames)
    groups, subnets = vpc.get("securityGroupIds"), vpc.get("subnetIds")
    if not groups or not subnets:
        return None
    return {"SecurityGroupIds": groups, "SubnetIds": subnets}
