"""Static checks for Choice rules and for Retry / Catch lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cirrostratus.asl.choice import COMPARISON_OPERATORS, rule_operator
from cirrostratus.asl.errors import ALL, KNOWN_ERRORS, TERMINAL_ERRORS
from cirrostratus.asl.paths import PathSyntaxError, parse_path
from cirrostratus.asl.timeutil import parse_timestamp

Add = Callable[..., None]

_RETRY_FIELDS = {
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
}
_CATCH_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Comment"}


def check_retry_catch(add: Add, where: str, spec: dict[str, Any], states: dict[str, Any]) -> None:
    for field, allowed in (("Retry", _RETRY_FIELDS), ("Catch", _CATCH_FIELDS)):
        if field not in spec:
            continue
        entries = spec[field]
        if not isinstance(entries, list):
            add(where, field, "must be a list")
            continue
        for i, entry in enumerate(entries):
            at = f"{field}[{i}]"
            if not isinstance(entry, dict):
                add(where, at, "must be an object with ErrorEquals")
                continue
            for key in entry:
                if key not in allowed:
                    add(where, f"{at}.{key}", f"not a field of a {field} entry")
            errors = entry.get("ErrorEquals")
            if (
                not isinstance(errors, list)
                or not errors
                or not all(isinstance(e, str) for e in errors)
            ):
                add(where, f"{at}.ErrorEquals", "required: a non-empty list of error names")
            else:
                _check_error_names(add, where, f"{at}.ErrorEquals", errors, i == len(entries) - 1)
            if field == "Retry":
                _check_retrier(add, where, at, entry)
            else:
                target = entry.get("Next")
                if not isinstance(target, str):
                    add(where, f"{at}.Next", "required: the state to go to")
                elif target not in states:
                    add(where, f"{at}.Next", f"names '{target}', which is not a state here")
                result_path = entry.get("ResultPath", "$")
                if result_path is not None:
                    try:
                        if not parse_path(result_path).definite:
                            raise PathSyntaxError(f"{result_path!r} is not a reference path")
                    except (PathSyntaxError, TypeError) as exc:
                        add(where, f"{at}.ResultPath", str(exc))


def _check_error_names(add: Add, where: str, at: str, errors: list[str], last: bool) -> None:
    if ALL in errors and (len(errors) > 1 or not last):
        add(where, at, "States.ALL must appear alone, in the last entry")
    for name in errors:
        if name in TERMINAL_ERRORS:
            add(
                where,
                at,
                f"{name} can never be retried or caught: it always ends the execution",
                "warning",
            )
        elif name.startswith("States.") and name not in KNOWN_ERRORS:
            add(
                where,
                at,
                f"{name} is not a States.* error name, so it never matches (a typo?)",
                "warning",
            )


def _check_retrier(add: Add, where: str, at: str, entry: dict[str, Any]) -> None:
    def number(field: str, low: float, integer: bool) -> None:
        if field not in entry:
            return
        value = entry[field]
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= low
        if integer:
            ok = ok and isinstance(value, int)
        if not ok:
            add(
                where,
                f"{at}.{field}",
                f"must be {'an integer' if integer else 'a number'} >= {low:g}",
            )

    number("IntervalSeconds", 1, True)
    number("MaxAttempts", 0, True)
    number("BackoffRate", 1.0, False)
    number("MaxDelaySeconds", 1, True)
    if entry.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
        add(where, f"{at}.JitterStrategy", "must be FULL or NONE")


def _operand_ok(op: str, value: Any) -> str | None:
    """None if the operand suits the operator, else what it should be."""
    if op.endswith("Path"):
        try:
            parse_path(value)
        except (PathSyntaxError, TypeError):
            return "a JSONPath string"
        return None
    if op.startswith("Is"):
        return None if isinstance(value, bool) else "true or false"
    if op.startswith("String"):
        return None if isinstance(value, str) else "a string"
    if op.startswith("Numeric"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "a number"
    if op.startswith("Boolean"):
        return None if isinstance(value, bool) else "true or false"
    return None if parse_timestamp(value) is not None else "an RFC 3339 timestamp"


def check_rule(
    add: Add, where: str, at: str, rule: Any, states: dict[str, Any], *, top: bool
) -> None:
    if not isinstance(rule, dict):
        add(where, at, "a choice rule must be an object")
        return
    if top:
        target = rule.get("Next")
        if not isinstance(target, str):
            add(where, f"{at}.Next", "required on a top-level choice rule")
        elif target not in states:
            add(where, f"{at}.Next", f"names '{target}', which is not a state here")
    elif "Next" in rule:
        add(where, f"{at}.Next", "only top-level choice rules take Next")
    combinators = [k for k in ("And", "Or", "Not") if k in rule]
    ops = rule_operator(rule)
    if len(combinators) + len(ops) != 1:
        add(where, at, "a choice rule needs exactly one of And, Or, Not or a comparison "
            f"(found {', '.join(combinators + ops) or 'none'})")  # fmt: skip
        return
    allowed = {"Next", "Comment", *combinators, *ops} | ({"Variable"} if ops else set())
    for key in rule:
        if key not in allowed:
            hint = " (unknown operator)" if key not in COMPARISON_OPERATORS else ""
            add(where, f"{at}.{key}", f"not a field of this choice rule{hint}")
    if combinators:
        key = combinators[0]
        inner = rule[key]
        if key == "Not":
            check_rule(add, where, f"{at}.Not", inner, states, top=False)
        elif not isinstance(inner, list) or not inner:
            add(where, f"{at}.{key}", "must be a non-empty list of rules")
        else:
            for i, sub in enumerate(inner):
                check_rule(add, where, f"{at}.{key}[{i}]", sub, states, top=False)
        return
    op = ops[0]
    variable = rule.get("Variable")
    try:
        parse_path(str(variable) if isinstance(variable, str) else "")
    except (PathSyntaxError, TypeError):
        add(where, f"{at}.Variable", f"required: a JSONPath string, got {variable!r}")
    want = _operand_ok(op, rule[op])
    if want is not None:
        add(where, f"{at}.{op}", f"must be {want}")
