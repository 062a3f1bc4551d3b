"""Pass, Choice, Wait, Succeed, Fail and the input/output processing every state shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cirrostratus.asl import VirtualClock


def one(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "S",
        "States": {
            "S": {**spec, "End": True}
            if spec["Type"] not in ("Succeed", "Fail", "Choice")
            else spec
        },
    }


def test_pass_copies_input_by_default(run_asl: Any) -> None:
    result = run_asl(one({"Type": "Pass"}), {"a": 1})
    assert result.status == "SUCCEEDED" and result.output == {"a": 1}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, {"r": 1}),
        ({"ResultPath": "$"}, {"r": 1}),
        ({"ResultPath": None}, {"a": {"b": 1}}),
        ({"ResultPath": "$.a.c"}, {"a": {"b": 1, "c": {"r": 1}}}),
        ({"ResultPath": "$.new.deeper"}, {"a": {"b": 1}, "new": {"deeper": {"r": 1}}}),
        ({"ResultPath": "$.a.c", "OutputPath": "$.a"}, {"b": 1, "c": {"r": 1}}),
        ({"InputPath": "$.a", "ResultPath": "$.x"}, {"a": {"b": 1}, "x": {"r": 1}}),
        ({"OutputPath": None}, {}),
    ],
)
def test_pass_result_and_result_path(run_asl: Any, extra: dict[str, Any], expected: Any) -> None:
    result = run_asl(one({"Type": "Pass", "Result": {"r": 1}, **extra}), {"a": {"b": 1}})
    assert result.output == expected


def test_input_path_null_gives_empty_object(run_asl: Any) -> None:
    result = run_asl(one({"Type": "Pass", "InputPath": None}), {"a": 1})
    assert result.output == {}


def test_parameters_paths_context_and_intrinsics(run_asl: Any) -> None:
    params = {
        "literal": {"nested": [1, "two"]},
        "value.$": "$.process.tasks.copy-assets.batch",
        "all.$": "$",
        "name.$": "$$.Execution.Name",
        "state.$": "$$.State.Name",
        "entered.$": "$$.State.EnteredTime",
        "sm.$": "$$.StateMachine.Name",
        "input.$": "$$.Execution.Input.n",
        "role.$": "$$.Execution.RoleArn",
        "msg.$": "States.Format('{} items for {}', States.ArrayLength($.items), $$.Execution.Name)",
        "items.$": "$.items[*].id",
    }
    data = {
        "process": {"tasks": {"copy-assets": {"batch": False}}},
        "n": 7,
        "items": [{"id": "a"}, {"id": "b"}],
    }
    clock = VirtualClock(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    result = run_asl(one({"Type": "Pass", "Parameters": params}), data, clock=clock, name="exec-1")
    out = result.output
    assert out["literal"] == {"nested": [1, "two"]}
    assert out["value"] is False and out["all"] == data
    assert out["name"] == "exec-1" and out["state"] == "S" and out["sm"] == "StateMachine"
    assert out["entered"] == "2024-05-06T07:08:09.000Z"
    assert out["input"] == 7 and out["role"].startswith("arn:aws:iam::")
    assert out["msg"] == "2 items for exec-1"
    assert out["items"] == ["a", "b"]


def test_outputs_do_not_alias_the_definition(run_asl: Any) -> None:
    import asyncio

    from cirrostratus.asl import compile_definition

    sm = compile_definition(one({"Type": "Pass", "Result": {"list": [1]}}))
    first = asyncio.run(sm.execute({})).output
    first["list"].append(2)
    assert asyncio.run(sm.execute({})).output == {"list": [1]}


def test_input_is_never_mutated(run_asl: Any) -> None:
    data = {"a": {"b": 1}}
    run_asl(one({"Type": "Pass", "Result": 2, "ResultPath": "$.a.c"}), data)
    assert data == {"a": {"b": 1}}


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"Type": "Pass", "InputPath": "$.missing"}, "States.Runtime"),
        ({"Type": "Pass", "OutputPath": "$.missing"}, "States.Runtime"),
        ({"Type": "Pass", "Parameters": {"x.$": "$.missing"}}, "States.Runtime"),
        (
            {"Type": "Pass", "Parameters": {"x.$": "States.ArrayLength($.s)"}},
            "States.IntrinsicFailure",
        ),
        (
            {"Type": "Pass", "Result": 1, "ResultPath": "$.s.deeper"},
            "States.ResultPathMatchFailure",
        ),
    ],
)
def test_processing_errors(run_asl: Any, spec: dict[str, Any], error: str) -> None:
    result = run_asl(one(spec), {"s": "text"})
    assert result.status == "FAILED"
    assert result.error == error
    assert result.failed_state == "S"
    assert result.cause


def test_parameter_path_failure_names_the_field(run_asl: Any) -> None:
    result = run_asl(one({"Type": "Pass", "Parameters": {"url.$": "$.url"}}), {})
    assert "'$.url'" in result.cause and "'url.$'" in result.cause


def test_succeed_applies_paths(run_asl: Any) -> None:
    result = run_asl(
        one({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}), {"a": {"b": 2}}
    )
    assert result.output == 2


def test_fail_state(run_asl: Any) -> None:
    result = run_asl(one({"Type": "Fail", "Error": "Custom.Error", "Cause": "because"}))
    assert (result.status, result.error, result.cause) == ("FAILED", "Custom.Error", "because")
    assert result.history[-1].type == "ExecutionFailed"


def test_fail_state_paths_and_intrinsics(run_asl: Any) -> None:
    spec = {"Type": "Fail", "ErrorPath": "$.err", "CausePath": "States.Format('code {}', $.code)"}
    result = run_asl(one(spec), {"err": "E.Dyn", "code": 42})
    assert (result.error, result.cause) == ("E.Dyn", "code 42")


def test_fail_without_error_has_no_error_name(run_asl: Any) -> None:
    result = run_asl(one({"Type": "Fail"}))
    assert result.status == "FAILED" and result.error is None


def choice(default: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.n", "NumericLessThan": 0, "Next": "Negative"},
            {
                "And": [
                    {"Variable": "$.n", "NumericGreaterThanEquals": 0},
                    {"Variable": "$.n", "NumericLessThan": 10},
                ],
                "Next": "Small",
            },
        ],
        "InputPath": "$.in",
        "OutputPath": "$.n",
    }
    if default:
        spec["Default"] = "Big"
    states = {
        "C": spec,
        "Negative": {"Type": "Pass", "Result": "neg", "End": True},
        "Small": {"Type": "Pass", "Result": "small", "End": True},
        "Big": {"Type": "Pass", "Result": "big", "End": True},
    }
    if not default:
        del states["Big"]
    return {"StartAt": "C", "States": states}


@pytest.mark.parametrize(("n", "expected"), [(-1, "neg"), (3, "small"), (10, "big")])
def test_choice_routes(run_asl: Any, n: int, expected: str) -> None:
    assert run_asl(choice(), {"in": {"n": n}}).output == expected


def test_choice_output_path(run_asl: Any) -> None:
    result = run_asl(choice(), {"in": {"n": 3}})
    entered = next(e for e in result.history if e.type == "ChoiceStateExited")
    assert entered.details == {"output": 3}


def test_no_choice_matched(run_asl: Any) -> None:
    result = run_asl(choice(default=False), {"in": {"n": 10}})
    assert result.status == "FAILED" and result.error == "States.NoChoiceMatched"


def wait(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", **spec, "Next": "Done"},
            "Done": {"Type": "Pass", "Parameters": {"at.$": "$$.State.EnteredTime"}, "End": True},
        },
    }


START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "data", "seconds"),
    [
        ({"Seconds": 3600}, {}, 3600),
        ({"SecondsPath": "$.s"}, {"s": 90}, 90),
        ({"Timestamp": "2024-01-01T00:10:00Z"}, {}, 600),
        ({"TimestampPath": "$.t"}, {"t": "2024-01-01T01:00:00+00:00"}, 3600),
        ({"Timestamp": "2023-01-01T00:00:00Z"}, {}, 0),
    ],
)
def test_wait_uses_the_clock(run_asl: Any, spec: dict[str, Any], data: Any, seconds: int) -> None:
    clock = VirtualClock(START)
    result = run_asl(wait(spec), data, clock=clock)
    assert result.status == "SUCCEEDED"
    assert (clock.now() - START).total_seconds() == seconds
    assert (result.stop - result.start).total_seconds() == seconds


@pytest.mark.parametrize(
    ("spec", "data"),
    [
        ({"SecondsPath": "$.s"}, {"s": "x"}),
        ({"TimestampPath": "$.t"}, {"t": "tomorrow"}),
        ({"SecondsPath": "$.nope"}, {}),
    ],
)
def test_wait_bad_values_are_runtime_errors(run_asl: Any, spec: dict[str, Any], data: Any) -> None:
    result = run_asl(wait(spec), data)
    assert result.error == "States.Runtime"


def test_paths_may_read_the_context_object(run_asl: Any) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": {"changed": True}, "Next": "B"},
            "B": {"Type": "Pass", "InputPath": "$$.Execution.Input.orig", "Next": "W"},
            "W": {"Type": "Wait", "SecondsPath": "$$.Execution.Input.s", "Next": "C"},
            "C": {"Type": "Pass", "OutputPath": "$$.State.Name", "End": True},
        },
    }
    clock = VirtualClock(START)
    result = run_asl(definition, {"orig": {"x": 1}, "s": 5}, clock=clock)
    assert result.output == "C"
    assert next(
        e for e in result.history if e.type == "PassStateExited" and e.state == "B"
    ).details == {"output": {"x": 1}}
    assert (clock.now() - START).total_seconds() == 5


def test_yaml_datetimes_in_a_definition_are_timestamps(run_asl: Any) -> None:
    clock = VirtualClock(START)
    moment = datetime(2024, 1, 1, 0, 0, 30)  # naive, as some YAML loaders produce: UTC
    result = run_asl(wait({"Timestamp": moment}), {}, clock=clock)
    assert result.status == "SUCCEEDED" and (clock.now() - START).total_seconds() == 30
    rule = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.t", "TimestampLessThan": moment, "Next": "Yes"}],
        "Default": "No",
    }
    definition = {
        "StartAt": "C",
        "States": {"C": rule, "Yes": {"Type": "Succeed"}, "No": {"Type": "Fail"}},
    }
    assert run_asl(definition, {"t": "2024-01-01T00:00:00Z"}).status == "SUCCEEDED"
