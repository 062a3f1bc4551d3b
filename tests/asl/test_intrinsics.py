from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest

from cirrostratus.asl.errors import StatesError
from cirrostratus.asl.intrinsics import IntrinsicSyntaxError, parse_intrinsic

DATA = {
    "name": "world",
    "n": 3,
    "list": [1, 2, 2, 3],
    "obj": {"a": 1},
    "s": '{"x": [1]}',
    "txt": "a,b;c",
}
CTX = {"Execution": {"Name": "run-1"}}


def ev(text: str, data: Any = DATA) -> Any:
    return parse_intrinsic(text)(data, CTX)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('Hello, {}!', $.name)", "Hello, world!"),
        ("States.Format('{} + {} = {}', 1, $.n, true)", "1 + 3 = true"),
        (
            r"States.Format('literal \{\} and \'quotes\' {}', $.name)",
            "literal {} and 'quotes' world",
        ),
        ("States.Format('run {}', $$.Execution.Name)", "run run-1"),
        ("States.Format('{}', $.list)", "[1, 2, 2, 3]"),
        ("States.StringToJson($.s)", {"x": [1]}),
        ("States.JsonToString($.obj)", '{"a":1}'),
        ("States.Array(1, 'two', $.n, null)", [1, "two", 3, None]),
        ("States.Array()", []),
        ("States.ArrayPartition($.list, 3)", [[1, 2, 2], [3]]),
        ("States.ArrayContains($.list, 2)", True),
        ("States.ArrayContains($.list, 9)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
        ("States.ArrayGetItem($.list, 3)", 3),
        ("States.ArrayLength($.list)", 4),
        ("States.ArrayUnique($.list)", [1, 2, 3]),
        ("States.Base64Encode('hi there')", base64.b64encode(b"hi there").decode()),
        ("States.Base64Decode('aGkgdGhlcmU=')", "hi there"),
        ("States.Hash('abc', 'SHA-256')", hashlib.sha256(b"abc").hexdigest()),
        ("States.Hash('abc', 'MD5')", hashlib.md5(b"abc").hexdigest()),
        ("States.Hash('abc', 'SHA-1')", hashlib.sha1(b"abc").hexdigest()),
        ("States.Hash('abc', 'SHA-384')", hashlib.sha384(b"abc").hexdigest()),
        ("States.Hash('abc', 'SHA-512')", hashlib.sha512(b"abc").hexdigest()),
        (
            'States.JsonMerge($.obj, States.StringToJson(\'{"a": 2, "b": 3}\'), false)',
            {"a": 2, "b": 3},
        ),
        ("States.MathAdd($.n, -5)", -2),
        ("States.StringSplit($.txt, ',;')", ["a", "b", "c"]),
        ("States.StringSplit('1,2,,3', ',')", ["1", "2", "3"]),
        ("States.ArrayLength(States.Array(1, 2))", 2),
        ("States.Format('{}', States.MathAdd(1, 2))", "3"),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_uuid_and_random() -> None:
    assert uuid.UUID(ev("States.UUID()")).version == 4
    seeded = [ev("States.MathRandom(1, 100, 42)") for _ in range(3)]
    assert len(set(seeded)) == 1 and 1 <= seeded[0] < 100
    assert all(0 <= ev("States.MathRandom(0, 2)") < 2 for _ in range(20))


def test_array_contains_does_not_confuse_true_and_one() -> None:
    assert ev("States.ArrayContains(States.Array(1), true)") is False


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', 1)",
        "States.StringToJson('not json')",
        "States.ArrayPartition($.list, 0)",
        "States.ArrayGetItem($.list, 10)",
        "States.ArrayLength($.obj)",
        "States.Base64Decode('%%%')",
        "States.Hash('abc', 'SHA-3')",
        "States.JsonMerge($.obj, $.obj, true)",
        "States.MathAdd('1', 1)",
        "States.MathAdd(true, 1)",
        "States.MathRandom(5, 1)",
        "States.ArrayRange(0, 5000, 1)",
    ],
)
def test_runtime_errors_are_intrinsic_failures(text: str) -> None:
    with pytest.raises(StatesError) as info:
        ev(text)
    assert info.value.error == "States.IntrinsicFailure"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("States.Nope(1)", "unknown intrinsic function States.Nope"),
        ("States.ArrayLength()", "takes 1 argument"),
        ("States.MathAdd(1)", "takes 2 argument"),
        ("States.UUID(1)", "takes 0 argument"),
        ("States.Format('x'", "expected ',' or ')'"),
        ("States.Format('x) ", "unterminated string"),
        ("States.Format('\\n')", "unknown escape"),
        ("States.Array(1) extra", "unexpected text"),
        ("States.Array(foo)", "expected a string"),
        ("States.Array($.a[)", "missing ']'"),
    ],
)
def test_syntax_errors_are_found_at_parse_time(text: str, message: str) -> None:
    with pytest.raises(IntrinsicSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_intrinsic(text)


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ({"k": 1}, "{k=1}"),
        ([1, "a"], "[1, a]"),
        ({"a": {"b": [1, {"c": None}]}, "d": "x y"}, "{a={b=[1, {c=null}]}, d=x y}"),
        ([], "[]"),
        ({}, "{}"),
        ([True, False, None, 1.5, -2], "[true, false, null, 1.5, -2]"),
        ("plain", "plain"),
        (None, "null"),
        (True, "true"),
        (2.5, "2.5"),
    ],
)
def test_format_renders_values_as_step_functions_does(value: Any, rendered: str) -> None:
    """Objects and arrays print Java-style ({k=1}, [1, a]), nested values likewise."""
    assert ev("States.Format('<{}>', $.v)", {"v": value}) == f"<{rendered}>"


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [
        (1.4, 2.6, 4),
        (2.5, 0, 3),
        (-2.5, 0, -2),
        (-2.6, 0, -3),
        (0.49999999999999994, 0, 0),
        (3.0, 4, 7),
        (10**20, 1, 10**20 + 1),
    ],
)
def test_math_add_rounds_non_integers_half_up(a: Any, b: Any, total: int) -> None:
    """Step Functions rounds each argument to the nearest integer, halves toward +infinity."""
    result = ev("States.MathAdd($.a, $.b)", {"a": a, "b": b})
    assert result == total and isinstance(result, int)
