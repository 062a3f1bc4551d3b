"""Choice rules compiled into predicates `(data, context) -> bool`.

Type mismatches compare false (StringEquals on a number is simply not a match). A Variable
that is missing raises States.Runtime, as AWS does, except under IsPresent.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from cirrostratus.asl.errors import RUNTIME, StatesError
from cirrostratus.asl.paths import PathMissing, parse_path
from cirrostratus.asl.timeutil import parse_timestamp

Predicate = Callable[[Any, Any], bool]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
_KINDS = ("String", "Numeric", "Boolean", "Timestamp")
_TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")

_COMPARISONS = [
    f"{kind}{op}{suffix}"
    for kind in _KINDS
    for op in _COMPARE
    for suffix in ("", "Path")
    if not (kind == "Boolean" and op != "Equals")
]
COMPARISON_OPERATORS: tuple[str, ...] = (*_COMPARISONS, "StringMatches", *_TYPE_TESTS)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _normalise(kind: str, value: Any) -> Any:
    """The comparable form of `value` for `kind`, or None if it is not of that kind."""
    if kind == "String":
        return value if isinstance(value, str) else None
    if kind == "Numeric":
        return value if _is_number(value) else None
    if kind == "Boolean":
        return value if isinstance(value, bool) else None
    return parse_timestamp(value)


def rule_operator(rule: dict[str, Any]) -> list[str]:
    """The comparison operator keys present in a rule (there must be exactly one)."""
    return [k for k in rule if k in COMPARISON_OPERATORS]


def compile_rule(rule: dict[str, Any]) -> Predicate:
    if "And" in rule:
        parts = [compile_rule(r) for r in rule["And"]]
        return lambda data, ctx: all(p(data, ctx) for p in parts)
    if "Or" in rule:
        parts = [compile_rule(r) for r in rule["Or"]]
        return lambda data, ctx: any(p(data, ctx) for p in parts)
    if "Not" in rule:
        inner = compile_rule(rule["Not"])
        return lambda data, ctx: not inner(data, ctx)
    (op,) = rule_operator(rule)
    variable = _getter(rule["Variable"])
    operand = rule[op]
    if op == "IsPresent":
        want = bool(operand)

        def is_present(data: Any, ctx: Any) -> bool:
            try:
                variable(data, ctx)
            except PathMissing:
                return not want
            return want

        return is_present
    test = _test(op, operand)

    def check(data: Any, ctx: Any) -> bool:
        try:
            value = variable(data, ctx)
        except PathMissing as exc:
            raise StatesError(
                RUNTIME,
                f"Invalid path '{exc.path}': The choice state's condition path references an "
                "invalid value.",
            ) from None
        return test(value, data, ctx)

    return check


def _getter(text: str) -> Callable[[Any, Any], Any]:
    path = parse_path(text)
    get = path.get
    if path.context:
        return lambda data, ctx: get(ctx)
    return lambda data, ctx: get(data)


def _test(op: str, operand: Any) -> Callable[[Any, Any, Any], bool]:
    if op in _TYPE_TESTS:
        tests: dict[str, Callable[[Any], bool]] = {
            "IsNull": lambda v: v is None,
            "IsNumeric": _is_number,
            "IsString": _is_string,
            "IsBoolean": _is_bool,
            "IsTimestamp": lambda v: parse_timestamp(v) is not None,
        }
        check = tests[op]
        want = bool(operand)
        return lambda value, data, ctx: check(value) is want
    if op == "StringMatches":
        pattern = compile_wildcard(operand)
        return lambda value, data, ctx: isinstance(value, str) and pattern.match(value) is not None
    kind = next(k for k in _KINDS if op.startswith(k))
    rest = op[len(kind) :]
    is_path = rest.endswith("Path")
    compare = _COMPARE[rest[:-4] if is_path else rest]
    if not is_path:
        expected = _normalise(kind, operand)

        def against_constant(value: Any, data: Any, ctx: Any) -> bool:
            got = _normalise(kind, value)
            return got is not None and bool(compare(got, expected))

        return against_constant
    other = _getter(operand)

    def against_path(value: Any, data: Any, ctx: Any) -> bool:
        try:
            raw = other(data, ctx)
        except PathMissing as exc:
            raise StatesError(
                RUNTIME,
                f"Invalid path '{exc.path}': The choice state's comparison path references an invalid value.",
            ) from None
        got, expected = _normalise(kind, value), _normalise(kind, raw)
        return got is not None and expected is not None and bool(compare(got, expected))

    return against_path


def compile_wildcard(pattern: str) -> re.Pattern[str]:
    """StringMatches: `*` is any run of characters; `\\*` a literal star, `\\\\` a backslash."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)
