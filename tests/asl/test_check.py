"""Static checks: every problem is found, named by state (path) and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.asl import AslDefinitionError, check_definition, compile_definition


def problems(definition: Any) -> set[tuple[str | None, str | None]]:
    return {(p.state, p.field) for p in check_definition(definition) if p.severity == "error"}


def messages(definition: Any) -> str:
    return "\n".join(str(p) for p in check_definition(definition))


def simple(spec: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": spec, **more}}


def test_valid_workflows_have_no_problems(load_workflow: Any) -> None:
    assert check_definition(load_workflow("mirror.yml")) == []
    assert check_definition(load_workflow("publish-only.yml")) == []


def test_the_bad_fixture_reports_everything() -> None:
    bad = json.loads((Path(__file__).parent / "data" / "bad.json").read_text())
    found = problems(bad)
    assert ("first", "Next") in found  # unknown target
    assert ("first", "Bogus") in found  # field not allowed
    assert ("orphan", None) in found  # unreachable
    assert ("choose", "Choices[0].StringEquals") in found  # operand of the wrong type
    assert ("t", "Resource") in found  # missing required field
    assert ("t", "InputPath") in found  # bad JSONPath
    assert ("t", "Parameters") in found  # unknown intrinsic
    assert ("t", "Catch[0].ErrorEquals") in found  # States.ALL not alone
    assert ("t", "Catch[0].Next") in found
    with pytest.raises(AslDefinitionError) as info:
        compile_definition(bad)
    assert len(info.value.problems) >= 9 and "unreachable" in str(info.value)


@pytest.mark.parametrize(
    ("definition", "where"),
    [
        ({"States": {"S": {"Type": "Succeed"}}}, (None, "StartAt")),
        ({"StartAt": "X", "States": {"S": {"Type": "Succeed"}}}, (None, "StartAt")),
        ({"StartAt": "S", "States": {}}, (None, "States")),
        ("not an object", (None, None)),
        (
            {"StartAt": "S", "States": {"S": {"Type": "Pass", "Next": "S"}}},
            (None, "States"),
        ),  # no terminal
        (simple({"Type": "Bogus"}), ("S", "Type")),
        (simple({"Type": "Pass"}), ("S", "Next")),  # neither Next nor End
        (simple({"Type": "Pass", "End": True, "Next": "S"}), ("S", "Next")),
        (simple({"Type": "Succeed", "Next": "S"}), ("S", "Next")),
        (simple({"Type": "Pass", "End": True, "ResultPath": "$.a[*]"}), ("S", "ResultPath")),
        (simple({"Type": "Pass", "End": True, "OutputPath": 5}), ("S", "OutputPath")),
        (simple({"Type": "Pass", "End": True, "Parameters": {"a.$": 1}}), ("S", "Parameters")),
        (
            simple(
                {"Type": "Pass", "End": True, "Parameters": {"a.$": "States.ArrayLength(1, 2)"}}
            ),
            ("S", "Parameters"),
        ),
        (simple({"Type": "Pass", "End": True, "Retry": []}), ("S", "Retry")),
        (simple({"Type": "Pass", "End": True, "Arguments": {}}), ("S", "Arguments")),
        (simple({"Type": "Pass", "End": True, "QueryLanguage": "JSONata"}), ("S", "QueryLanguage")),
        (simple({"Type": "Wait", "End": True}), ("S", None)),
        (simple({"Type": "Wait", "End": True, "Seconds": 1, "SecondsPath": "$.s"}), ("S", None)),
        (simple({"Type": "Wait", "End": True, "Seconds": -1}), ("S", "Seconds")),
        (simple({"Type": "Wait", "End": True, "Timestamp": "yesterday"}), ("S", "Timestamp")),
        (simple({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}), ("S", "Error")),
        (simple({"Type": "Fail", "CausePath": "States.Bad()"}), ("S", "CausePath")),
        (
            simple({"Type": "Task", "Resource": "r", "End": True, "TimeoutSeconds": 0}),
            ("S", "TimeoutSeconds"),
        ),
        (
            simple(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "TimeoutSeconds": 5,
                    "HeartbeatSeconds": 5,
                }
            ),
            ("S", "HeartbeatSeconds"),
        ),
        (
            simple(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "TimeoutSeconds": 5,
                    "TimeoutSecondsPath": "$.t",
                }
            ),
            ("S", "TimeoutSeconds"),
        ),
        (
            simple(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": -1}],
                }
            ),
            ("S", "Retry[0].MaxAttempts"),
        ),
        (
            simple(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["E"], "BackoffRate": 0.5}],
                }
            ),
            ("S", "Retry[0].BackoffRate"),
        ),
        (
            simple(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["E"], "JitterStrategy": "SOME"}],
                }
            ),
            ("S", "Retry[0].JitterStrategy"),
        ),
        (
            simple({"Type": "Task", "Resource": "r", "End": True, "Retry": [{"ErrorEquals": []}]}),
            ("S", "Retry[0].ErrorEquals"),
        ),
        (
            simple(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}],
                }
            ),
            ("S", "Retry[0].ErrorEquals"),
        ),
        (
            simple(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Catch": [{"ErrorEquals": ["E"], "Next": "S", "ResultPath": "$[*]"}],
                }
            ),
            ("S", "Catch[0].ResultPath"),
        ),
        (simple({"Type": "Choice", "Choices": []}), ("S", "Choices")),
        (
            simple({"Type": "Choice", "Choices": [{"Variable": "$.a", "Next": "S"}]}),
            ("S", "Choices[0]"),
        ),
        (
            simple(
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "S"}
                    ],
                }
            ),
            ("S", "Choices[0]"),
        ),
        (
            simple({"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": "x"}]}),
            ("S", "Choices[0].Next"),
        ),
        (
            simple(
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Not": {"Variable": "$.a", "IsNull": True, "Next": "S"}, "Next": "S"}
                    ],
                }
            ),
            ("S", "Choices[0].Not.Next"),
        ),
        (
            simple({"Type": "Choice", "Choices": [{"And": [], "Next": "S"}]}),
            ("S", "Choices[0].And"),
        ),
        (
            simple({"Type": "Choice", "Choices": [{"Variable": "a", "IsNull": True, "Next": "S"}]}),
            ("S", "Choices[0].Variable"),
        ),
        (
            simple(
                {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a", "TimestampEquals": "x", "Next": "S"}],
                }
            ),
            ("S", "Choices[0].TimestampEquals"),
        ),
        (
            simple(
                {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a", "NumericEqualsPath": "x", "Next": "S"}],
                }
            ),
            ("S", "Choices[0].NumericEqualsPath"),
        ),
        (
            simple(
                {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": "yes", "Next": "S"}]}
            ),
            ("S", "Choices[0].IsNull"),
        ),
        (
            simple(
                {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "S"}],
                    "Default": "Nope",
                }
            ),
            ("S", "Default"),
        ),
        (simple({"Type": "Parallel", "End": True, "Branches": []}), ("S", "Branches")),
        (simple({"Type": "Map", "End": True}), ("S", "ItemProcessor")),
        (
            simple(
                {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                    "ItemReader": {},
                }
            ),
            ("S", "ItemReader"),
        ),
        (
            simple(
                {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                    "MaxConcurrency": -2,
                }
            ),
            ("S", "MaxConcurrency"),
        ),
        (
            simple(
                {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                    "ToleratedFailurePercentage": 101,
                }
            ),
            ("S", "ToleratedFailurePercentage"),
        ),
        (
            simple(
                {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                    "ItemsPath": "$.a[*]",
                }
            ),
            ("S", "ItemsPath"),
        ),
    ],
)
def test_each_problem_is_found(definition: Any, where: tuple[str | None, str | None]) -> None:
    assert where in problems(definition), messages(definition)


def test_nested_states_are_named_by_path() -> None:
    branch = {"StartAt": "inner", "States": {"inner": {"Type": "Pass", "Next": "ghost"}}}
    iterator = {"StartAt": "step", "States": {"step": {"Type": "Task", "End": True}}}
    definition = simple(
        {
            "Type": "Parallel",
            "Next": "M",
            "Branches": [{"StartAt": "ok", "States": {"ok": {"Type": "Succeed"}}}, branch],
        },
        M={"Type": "Map", "End": True, "ItemProcessor": iterator},
    )
    found = problems(definition)
    assert ("S.Branches[1].inner", "Next") in found
    assert ("M.ItemProcessor.step", "Resource") in found


def test_distributed_only_fields_warn() -> None:
    iterator = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "I",
        "States": {"I": {"Type": "Succeed"}},
    }
    definition = simple(
        {"Type": "Map", "End": True, "ItemProcessor": iterator, "ResultWriter": {}, "Label": "l"}
    )
    found = check_definition(definition)
    assert {p.severity for p in found} == {"warning"}
    assert {p.field for p in found} == {
        "ItemProcessor.ProcessorConfig.Mode",
        "ResultWriter",
        "Label",
    }
    compile_definition(definition)  # warnings do not refuse


def test_problem_text_names_state_and_field() -> None:
    (problem,) = check_definition(simple({"Type": "Pass", "End": True, "Bogus": 1}))
    assert str(problem) == "error: state 'S' field 'Bogus': not a field of a Pass state"
    assert problem.severity == "error" and problem.message


def test_error_names_that_never_match_warn() -> None:
    retry = [{"ErrorEquals": ["States.Timout", "States.Runtime", "Lambda.Unknown"]}]
    found = check_definition(simple({"Type": "Task", "Resource": "r", "End": True, "Retry": retry}))
    assert {p.severity for p in found} == {"warning"}
    text = " ".join(p.message for p in found)
    assert "States.Timout is not a States.* error name" in text
    assert "States.Runtime can never be retried or caught" in text


def test_state_names_longer_than_80_characters_are_refused() -> None:
    """The ASL specification caps state names at 80 Unicode characters."""
    ok, long = "é" * 80, "n" * 81  # characters, not bytes: 80 'é' are 160 bytes of UTF-8
    assert check_definition({"StartAt": ok, "States": {ok: {"Type": "Succeed"}}}) == []
    nested = {"StartAt": long, "States": {long: {"Type": "Succeed"}}}
    definition = {
        "StartAt": long,
        "States": {long: {"Type": "Parallel", "Branches": [nested], "End": True}},
    }
    with pytest.raises(AslDefinitionError) as info:
        compile_definition(definition)
    found = [p for p in info.value.problems if "81 characters" in p.message]
    assert {p.state for p in found} == {long, f"{long}.Branches[0].{long}"}
    assert "at most 80" in str(info.value)
