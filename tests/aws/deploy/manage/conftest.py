"""A second moto server for the live-deployment management tests (`payload logs`, `task invoke`,
`deployments show --lambdas`, `payload get --execution`).

It is configured as the shared one is not, and that switches moto to other backend stores, so
it has to be a server of its own: Lambda without Docker (moto's "simple" backend, which answers
invokes by echoing the event or returning a queued result), Batch without Docker (jobs succeed
at once and get a log stream name) and Step Functions executing state machines (its
interpreter calls the Lambdas, so executions have real windows and histories).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REGION = "us-west-2"
STACK = "mgmt-dev"
CONFIG = {
    "lambda": {"use_docker": False},
    "batch": {"use_docker": False},
    "stepfunctions": {"execute_state_machine": True},
}


def _template() -> dict[str, Any]:
    """A Cirrus-like stack: a role and four functions named <service>-<stage>-<name>."""

    def function(name: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        props: dict[str, Any] = {
            "FunctionName": f"{STACK}-{name}",
            "Runtime": "python3.12",
            "Handler": "handler.handler",
            "MemorySize": 256,
            "Timeout": 30,
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
        }
        if env:
            props["Environment"] = {"Variables": env}
        return {"Type": "AWS::Lambda::Function", "Properties": props}

    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"RoleName": f"{STACK}-role", "AssumeRolePolicyDocument": {}},
            },
            "ProcessLambdaFunction": function("process", {"CIRRUS_STATE_DB": f"{STACK}-state"}),
            "TaskALambdaFunction": function("task-a"),
            "TaskBLambdaFunction": function("task-b"),
            "TaskCLambdaFunction": function("task-c"),
        }
    }


@pytest.fixture(scope="session")
def mgmt_url() -> Iterator[str]:
    sys.path.insert(0, str(Path(__file__).parents[2]))  # tests/aws: its moto_process helper
    from moto_process import moto_server

    with moto_server() as url:
        request = urllib.request.Request(
            f"{url}/moto-api/config", data=json.dumps(CONFIG).encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=10).read()
        yield url


@pytest.fixture(scope="session")
def mgmt_session(mgmt_url: str) -> Any:
    """A boto3 session whose clients reach the management moto server."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )

    class Clients:
        def client(self, service: str) -> Any:
            return session.client(service, endpoint_url=mgmt_url)

    return Clients()


@pytest.fixture(scope="session")
def mgmt_stack(mgmt_session: Any) -> dict[str, Any]:
    """The stack, its state table and a workflow calling task-a (Resource ARN), task-b
    (lambda:invoke) and task-c: {"table", "machine", "functions"}."""
    from cirrostratus.state.dynamodb_schema import create_tables

    cf = mgmt_session.client("cloudformation")
    cf.create_stack(StackName=STACK, TemplateBody=json.dumps(_template()))
    cf.get_waiter("stack_create_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    create_tables(mgmt_session.client("dynamodb"), f"{STACK}-state")
    lam = mgmt_session.client("lambda")
    arn = {n: lam.get_function(FunctionName=f"{STACK}-{n}")["Configuration"]["FunctionArn"]
           for n in ("task-a", "task-b", "task-c")}  # fmt: skip
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": arn["task-a"], "Next": "B"},
            "B": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": f"{STACK}-task-b", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Next": "C",
            },
            "C": {"Type": "Task", "Resource": arn["task-c"], "End": True},
        },
    }
    role = mgmt_session.client("iam").get_role(RoleName=f"{STACK}-role")["Role"]["Arn"]
    machine = mgmt_session.client("stepfunctions").create_state_machine(
        name=f"{STACK}-wf", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    return {"table": f"{STACK}-state", "machine": machine, "role": role}


@pytest.fixture
def mgmt(
    mgmt_url: str, mgmt_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, Any]:
    """The commands reach the management server; deployment `mgmt` is added for the stack."""
    from ..conftest import cirro

    for key, value in {
        "AWS_ENDPOINT_URL": mgmt_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "CIRRO_CONFIG_DIR": str(tmp_path / "config"),
    }.items():
        monkeypatch.setenv(key, value)
    cirro("deployments", "add", "mgmt", "--stack", STACK)
    return mgmt_stack
