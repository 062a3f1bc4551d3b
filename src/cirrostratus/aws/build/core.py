"""The project's own CloudFormation, made deployable.

Takes every object of `cloudformation/*.yml` and of batch tasks' `batch.resources` (the
Project already merged them, task winning), resolves serverless variables, renames ids that
are not alphanumeric (names.py), turns `#{X}` into `Fn::Sub`, writes each job definition's
inherited environment (project/environment.py's rule), fills what a compute environment needs,
and swaps Cirrus's Timestream event store for a DynamoDB table unless the project keeps it.
"""

from __future__ import annotations

import copy
from typing import Any

from cirrostratus.aws.build import iam, names
from cirrostratus.aws.build.model import BuildError
from cirrostratus.aws.build.resolve import Resolver, hash_to_sub
from cirrostratus.project import Project
from cirrostratus.project.environment import job_environment

TIMESTREAM_IDS = ("StateEventTimestreamDatabase", "StateEventTimestreamTable")
EVENTS_TABLE_ID = "StateEventsTable"
SPOT_ROLE_ID = "EC2SpotRole"
INSTANCE_PROFILE_ID = "BatchInstanceProfile"


def event_db(project: Project) -> str:
    """`custom.cirro.event_db`: `dynamodb` (default) or `timestream` (Cirrus 0.9's)."""
    custom = project.config.get("custom")
    cirro = custom.get("cirro") if isinstance(custom, dict) else None
    value = cirro.get("event_db") if isinstance(cirro, dict) else None
    if value is None:
        return "dynamodb"
    if value not in ("dynamodb", "timestream"):
        raise BuildError(
            f"cirrus.yml: custom.cirro.event_db is {value!r}; use dynamodb (the default) "
            "or timestream (Cirrus 0.9's, for accounts that still have Timestream)"
        )
    return str(value)


def renames_for(project: Project) -> dict[str, str]:
    """Old → new for every CloudFormation id that is not alphanumeric; clashes are errors."""
    renames: dict[str, str] = {}
    taken: dict[str, str] = {}
    for section in project.cloudformation.values():
        for logical_id, resource in section.items():
            new = names.resource_id(logical_id)
            if new in taken and taken[new] != logical_id:
                raise BuildError(
                    f"{resource.file}: {taken[new]!r} and {logical_id!r} both become the "
                    f"CloudFormation id {new!r} (ids must be alphanumeric); rename one of them"
                )
            taken[new] = logical_id
            if new != logical_id:
                renames[logical_id] = new
    return renames


def provider_environment(
    project: Project, resolver: Resolver, renames: dict[str, str]
) -> dict[str, Any]:
    """provider.environment as deployed: the events table in place of Timestream by default."""
    env = dict(project.provider_environment)
    if event_db(project) != "timestream":
        value = env.get("CIRRUS_EVENT_DB_AND_TABLE")
        if isinstance(value, dict) and value.get("Ref") in TIMESTREAM_IDS:
            del env["CIRRUS_EVENT_DB_AND_TABLE"]
        env.setdefault("CIRRO_EVENTS_TABLE", {"Ref": EVENTS_TABLE_ID})
    prepared: dict[str, Any] = prepare(env, resolver, renames)
    return prepared


def prepare(value: Any, resolver: Resolver, renames: dict[str, str]) -> Any:
    """Resolve serverless variables, rename references, `#{X}` → Fn::Sub."""
    return hash_to_sub(names.rename_references(resolver.value(copy.deepcopy(value)), renames))


def project_sections(
    project: Project, resolver: Resolver, renames: dict[str, str], provider_env: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Every CloudFormation section of the project, ready for the template."""
    keep_timestream = event_db(project) == "timestream"
    sections: dict[str, dict[str, Any]] = {}
    job_roles: dict[str, Any] = {}
    for section, objects in project.cloudformation.items():
        out = sections.setdefault(section, {})
        for logical_id, resource in objects.items():
            if section == "Resources" and logical_id in TIMESTREAM_IDS and not keep_timestream:
                continue
            body = copy.deepcopy(resource.body)
            if section == "Resources" and resource.type == "AWS::Batch::JobDefinition":
                body = _job_definition(project, resource.task, body, provider_env)
                role = _job_role(project, resource.task, body)
                if role is not None:
                    job_roles[role[0]] = prepare(role[1], resolver, renames)
            body = prepare(body, resolver, renames)
            if section == "Resources" and resource.type == "AWS::Batch::ComputeEnvironment":
                _compute_environment(body, resource.file, logical_id)
            out[renames.get(logical_id, logical_id)] = body
    resources = sections.setdefault("Resources", {})
    for logical_id, role in job_roles.items():
        if logical_id in resources:
            raise BuildError(
                f"cirro build gives batch tasks without a JobRoleArn the role {logical_id!r}, "
                "which cloudformation/ already declares: set JobRoleArn to it, or rename it"
            )
        resources[logical_id] = role
    if not keep_timestream:
        resources[EVENTS_TABLE_ID] = events_table()
    return sections


def job_role_id(task: str) -> str:
    return f"{names.normalize(task)}TaskJobRole"


def _job_role(project: Project, task_name: str | None, body: Any) -> tuple[str, Any] | None:
    """A job role for a task's job definition that has none (Cirrus: the instance's role).

    Its statements: Cirrus's job role (buckets, secrets) plus the task's own
    `iamRoleStatements` (top level and `lambda.`), so a Batch task gets a role of its own.
    """
    task = project.tasks.get(task_name) if task_name else None
    container = (
        body.get("Properties", {}).get("ContainerProperties") if isinstance(body, dict) else None
    )
    if task is None or not isinstance(container, dict) or container.get("JobRoleArn"):
        return None
    logical_id = job_role_id(task.name)
    container["JobRoleArn"] = {"Fn::GetAtt": [logical_id, "Arn"]}
    own = [
        s
        for field in (
            task.definition.get("iamRoleStatements"),
            task.lambda_config.get("iamRoleStatements"),
        )
        if isinstance(field, list)
        for s in field
        if isinstance(s, dict)
    ]
    return logical_id, iam.service_role(
        "ecs-tasks.amazonaws.com", [*iam.job_role_statements(), *own]
    )


def events_table() -> dict[str, Any]:
    """State events in DynamoDB (Timestream is closed to new accounts): pk/sk, TTL expires_at."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": {"Fn::Sub": "${AWS::StackName}-state-events"},
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    }


def _job_definition(
    project: Project, task_name: str | None, body: Any, provider_env: dict[str, Any]
) -> Any:
    """The seed's rule: provider < task < AWS_REGION/AWS_DEFAULT_REGION < own Environment."""
    if not isinstance(body, dict):
        return body
    props = body.setdefault("Properties", {})
    container = props.setdefault("ContainerProperties", {})
    if not isinstance(container, dict):
        return body
    task = project.tasks.get(task_name) if task_name else None
    inherited = {**provider_env, **(task.environment if task else {})}
    own = container.get("Environment")
    env = job_environment(inherited, "#{AWS::Region}", own if isinstance(own, list) else None)
    container["Environment"] = [{"Name": k, "Value": _env_value(v)} for k, v in env.items()]
    return body


def _env_value(value: Any) -> Any:
    """Environment values are strings in CloudFormation; intrinsics stay as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    return value


def _compute_environment(body: Any, file: str, logical_id: str) -> None:
    """SPOT needs a fleet role and both kinds an allocation strategy; fill Cirrus's defaults."""
    props = body.get("Properties") if isinstance(body, dict) else None
    resources = props.get("ComputeResources") if isinstance(props, dict) else None
    if not isinstance(resources, dict):
        return
    kind = resources.get("Type")
    if kind == "SPOT":
        resources.setdefault("SpotIamFleetRole", {"Fn::GetAtt": [SPOT_ROLE_ID, "Arn"]})
        resources.setdefault("AllocationStrategy", "SPOT_CAPACITY_OPTIMIZED")
    elif kind == "EC2":
        resources.setdefault("AllocationStrategy", "BEST_FIT_PROGRESSIVE")
    if kind in ("SPOT", "EC2"):
        resources.setdefault("InstanceRole", {"Fn::GetAtt": [INSTANCE_PROFILE_ID, "Arn"]})
        if not resources.get("Subnets"):
            raise BuildError(
                f"{file}: Resources.{logical_id}.Properties.ComputeResources.Subnets is empty; "
                "set custom.batch.Subnets in cirrus.yml (cloudformation/vpc.yml from "
                "`cirro init` provides privateSubnet2)"
            )


env_value = _env_value
