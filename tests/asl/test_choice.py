from __future__ import annotations

from typing import Any

import pytest

from cirrostratus.asl.choice import compile_rule, compile_wildcard
from cirrostratus.asl.errors import StatesError

DATA = {
    "s": "beta",
    "n": 5,
    "f": 2.5,
    "b": True,
    "t": "2024-03-01T12:00:00Z",
    "null": None,
    "other": {"s": "beta", "n": 5, "b": True, "t": "2024-03-01T12:00:00Z"},
    "nums": "7",
}


def holds(rule: dict[str, Any], data: Any = DATA) -> bool:
    return compile_rule(rule)(data, None)


@pytest.mark.parametrize(
    ("op", "operand", "expected"),
    [
        ("StringEquals", "beta", True),
        ("StringEquals", "alpha", False),
        ("StringLessThan", "gamma", True),
        ("StringGreaterThan", "alpha", True),
        ("StringLessThanEquals", "beta", True),
        ("StringGreaterThanEquals", "betb", False),
    ],
)
def test_string_comparisons(op: str, operand: str, expected: bool) -> None:
    assert holds({"Variable": "$.s", op: operand}) is expected
    assert holds({"Variable": "$.other.s", f"{op}Path": "$.s"}) is op.endswith("Equals")


@pytest.mark.parametrize(
    ("op", "operand", "expected"),
    [
        ("NumericEquals", 5, True),
        ("NumericEquals", 5.0, True),
        ("NumericLessThan", 6, True),
        ("NumericGreaterThan", 5, False),
        ("NumericLessThanEquals", 5, True),
        ("NumericGreaterThanEquals", 4.5, True),
    ],
)
def test_numeric_comparisons(op: str, operand: float, expected: bool) -> None:
    assert holds({"Variable": "$.n", op: operand}) is expected


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("NumericEqualsPath", True),
        ("NumericLessThanPath", False),
        ("NumericGreaterThanPath", False),
        ("NumericLessThanEqualsPath", True),
        ("NumericGreaterThanEqualsPath", True),
        ("StringEqualsPath", True),
        ("BooleanEqualsPath", True),
        ("TimestampEqualsPath", True),
        ("TimestampLessThanPath", False),
        ("TimestampGreaterThanPath", False),
        ("TimestampLessThanEqualsPath", True),
        ("TimestampGreaterThanEqualsPath", True),
    ],
)
def test_path_variants_compare_two_values(op: str, expected: bool) -> None:
    kind = {"Numeric": "n", "String": "s", "Boolean": "b", "Timestamp": "t"}[
        next(k for k in ("Numeric", "String", "Boolean", "Timestamp") if op.startswith(k))
    ]
    assert holds({"Variable": f"$.{kind}", op: f"$.other.{kind}"}) is expected


@pytest.mark.parametrize(
    ("op", "operand", "expected"),
    [
        ("TimestampEquals", "2024-03-01T13:00:00+01:00", True),
        ("TimestampLessThan", "2024-03-02T00:00:00Z", True),
        ("TimestampGreaterThan", "2024-03-02T00:00:00Z", False),
        ("TimestampLessThanEquals", "2024-03-01T12:00:00Z", True),
        ("TimestampGreaterThanEquals", "2024-03-01T12:00:00.001Z", False),
    ],
)
def test_timestamp_comparisons(op: str, operand: str, expected: bool) -> None:
    assert holds({"Variable": "$.t", op: operand}) is expected


def test_type_mismatch_is_false_not_an_error() -> None:
    assert not holds({"Variable": "$.n", "StringEquals": "5"})
    assert not holds({"Variable": "$.nums", "NumericEquals": 7})
    assert not holds({"Variable": "$.b", "NumericEquals": 1})
    assert not holds({"Variable": "$.s", "TimestampEquals": "2024-03-01T12:00:00Z"})
    assert holds({"Variable": "$.b", "BooleanEquals": True})
    assert not holds({"Variable": "$.n", "BooleanEquals": True})


@pytest.mark.parametrize(
    ("op", "variable", "expected"),
    [
        ("IsNull", "$.null", True),
        ("IsNull", "$.s", False),
        ("IsPresent", "$.s", True),
        ("IsPresent", "$.missing", False),
        ("IsNumeric", "$.f", True),
        ("IsNumeric", "$.b", False),
        ("IsNumeric", "$.nums", False),
        ("IsString", "$.s", True),
        ("IsString", "$.n", False),
        ("IsBoolean", "$.b", True),
        ("IsBoolean", "$.null", False),
        ("IsTimestamp", "$.t", True),
        ("IsTimestamp", "$.s", False),
    ],
)
def test_type_tests(op: str, variable: str, expected: bool) -> None:
    assert holds({"Variable": variable, op: True}) is expected
    assert holds({"Variable": variable, op: False}) is (not expected)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*.log", "app.log", True),
        ("*.log", "app.txt", False),
        ("a*b*c", "aXXbYc", True),
        (r"literal\*", "literal*", True),
        (r"literal\*", "literalX", False),
        (r"back\\slash", "back\\slash", True),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        ("*", "", True),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert (compile_wildcard(pattern).match(value) is not None) is expected
    assert holds({"Variable": "$", "StringMatches": pattern}, value) is expected


def test_and_or_not_short_circuit() -> None:
    rule = {
        "Or": [
            {"Variable": "$.batch", "IsPresent": False},
            {"Variable": "$.batch", "BooleanEquals": False},
        ]
    }
    assert holds(rule, {})  # the second rule would fail on the missing path
    assert holds(rule, {"batch": False})
    assert not holds(rule, {"batch": True})
    assert holds(
        {
            "And": [
                {"Variable": "$.n", "NumericGreaterThan": 1},
                {"Not": {"Variable": "$.s", "StringEquals": "x"}},
            ]
        }
    )
    assert not holds(
        {
            "And": [
                {"Variable": "$.n", "NumericGreaterThan": 1},
                {"Variable": "$.b", "BooleanEquals": False},
            ]
        }
    )


def test_missing_variable_is_a_runtime_error() -> None:
    with pytest.raises(StatesError) as info:
        holds(
            {"Variable": "$.process.tasks.copy-assets.batch", "BooleanEquals": True},
            {"process": {}},
        )
    assert info.value.error == "States.Runtime"
    assert "$.process.tasks.copy-assets.batch" in str(info.value.cause)


def test_context_variable() -> None:
    rule = compile_rule({"Variable": "$$.Execution.Name", "StringEquals": "x"})
    assert rule({}, {"Execution": {"Name": "x"}})
