"""Environment values made local, and function names mapped to components (pure functions)."""

from __future__ import annotations

import pytest

from cirrostratus.runtime.env import (
    THREAD_VARS,
    StackContext,
    Unresolvable,
    local_value,
    process_environment,
    task_environment,
    thread_limits,
)
from cirrostratus.runtime.jobs import fill_refs, reference
from cirrostratus.runtime.names import component_name, function_ref

STACK = StackContext(service="svc", stage="prod", region="ap-south-1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        (3, "3"),
        (2.5, "2.5"),
        (False, "false"),
        ("#{AWS::StackName}-x", "svc-prod-x"),
        ("${self:service}-${self:provider.stage}", "svc-prod"),
        ("${opt:stage, 'dev'}", "prod"),
        ("${opt:unknown, 'fallback'}", "fallback"),
        ({"Ref": "AWS::Region"}, "ap-south-1"),
        (
            {"Fn::Sub": "arn:aws:states:${AWS::Region}:${AWS::AccountId}:x"},
            "arn:aws:states:ap-south-1:000000000000:x",
        ),
        ({"Fn::Join": ["-", ["a", "#{AWS::Region}"]]}, "a-ap-south-1"),
    ],
)
def test_local_values(value: object, expected: str) -> None:
    assert local_value(value, STACK) == expected


@pytest.mark.parametrize(
    "value", [{"Ref": "Data"}, {"Fn::GetAtt": ["Q", "Arn"]}, "${ssm:/secret}", None, [1]]
)
def test_stack_only_values_are_unresolvable(value: object) -> None:
    with pytest.raises(Unresolvable):
        local_value(value, STACK)


def test_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRRO_TEST_VAR", "from-shell")
    assert local_value("${env:CIRRO_TEST_VAR}", STACK) == "from-shell"


def test_task_environment_drops_and_replaces() -> None:
    raw = {
        "A": 1,
        "CIRRUS_DATA_BUCKET": {"Ref": "Data"},
        "CIRRUS_PROCESS_QUEUE_URL": {"Ref": "Q"},
        "B": {"Ref": "X"},
    }
    env = task_environment(raw, STACK, {"CIRRUS_DATA_BUCKET": "file:///d"}, extra={"A": "override"})
    assert env == {"A": "override", "CIRRUS_DATA_BUCKET": "file:///d"}


def test_stack_from_config() -> None:
    config = {
        "service": "cirrus",
        "provider": {"stage": "${opt:stage, 'dev'}", "region": "${opt:region, 'us-west-2'}"},
    }
    stack = StackContext.from_config(config)
    assert (stack.stack_name, stack.region) == ("cirrus-dev", "us-west-2")


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("copy-assets", "copy-assets"),
        ("cirrus-dev-copy-assets", "copy-assets"),
        ("${self:service}-${self:provider.stage}-copy-assets", "copy-assets"),
        ("arn:aws:lambda:us-west-2:123456789012:function:cirrus-dev-copy-assets", "copy-assets"),
        ("arn:aws:lambda:us-west-2:123456789012:function:publish:live", "publish"),
        ("cirrus-dev-unknown", None),
    ],
)
def test_component_name(ref: str, expected: str | None) -> None:
    assert component_name(ref, {"copy-assets", "publish", "assets"}) == expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"Fn::GetAtt": ["publish", "Arn"]}, "publish"),
        ({"Fn::GetAtt": "publish.Arn"}, "publish"),
        ("!GetAtt publish.Arn", "publish"),
        ("arn:aws:lambda:us-west-2:1:function:cirrus-dev-publish", "cirrus-dev-publish"),
        ("arn:aws:states:::sqs:sendMessage", None),
        (42, None),
    ],
)
def test_function_ref(resource: object, expected: str | None) -> None:
    assert function_ref(resource) == expected


def test_refs_and_references() -> None:
    assert fill_refs(
        ["run", "Ref::fn", "--url=Ref::url", "Ref::missing"], {"fn": "f", "url": "u"}
    ) == [
        "run",
        "f",
        "--url=u",
        "Ref::missing",
    ]
    assert reference("#{MyJob}") == "MyJob"
    assert reference({"Ref": "MyQueue"}) == "MyQueue"
    assert reference("arn:aws:batch:us-west-2:1:job-definition/cirrus-dev-x:7") == "cirrus-dev-x"
    assert reference("arn:aws:batch:us-west-2:1:job-queue/cirrus-dev-q") == "cirrus-dev-q"


def test_thread_pools_are_sized_to_the_cpu_share(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert thread_limits(0.3) == dict.fromkeys(THREAD_VARS, "1")  # never below one
    assert thread_limits(2.9)["GDAL_NUM_THREADS"] == "2"  # whole CPUs only
    assert thread_limits(16)["OMP_NUM_THREADS"] == "4"  # never beyond the machine
    monkeypatch.setenv("GDAL_NUM_THREADS", "ALL_CPUS")  # the user's shell wins
    assert thread_limits(1)["GDAL_NUM_THREADS"] == "ALL_CPUS"
    env = process_environment({"OMP_NUM_THREADS": "3"}, cpus=1)  # and the task's own
    assert env["OMP_NUM_THREADS"] == "3" and env["MKL_NUM_THREADS"] == "1"
