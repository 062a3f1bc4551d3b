"""Payload templates (Parameters, ResultSelector, ItemSelector) compiled into builders.

A builder is `(data, context) -> value`. Keys ending in `.$` take their value from a path
(`$.x`), the context object (`$$.Execution.Id`) or an intrinsic call; everything else is a
literal. Builders always return fresh containers, so nothing the interpreter hands out
aliases the compiled definition.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cirrostratus.asl.errors import RUNTIME, StatesError
from cirrostratus.asl.intrinsics import is_intrinsic, parse_intrinsic
from cirrostratus.asl.paths import PathMissing, parse_path

Builder = Callable[[Any, Any], Any]


def compile_literal(value: Any) -> Builder:
    """A builder that returns a fresh copy of a JSON literal (e.g. a Pass state's Result)."""
    if isinstance(value, dict):
        items = [(k, compile_literal(v)) for k, v in value.items()]
        return lambda data, ctx: {k: b(data, ctx) for k, b in items}
    if isinstance(value, list):
        parts = [compile_literal(v) for v in value]
        return lambda data, ctx: [b(data, ctx) for b in parts]
    return lambda data, ctx: value


def uses_context(template: Any) -> bool:
    """Does the template read the context object (`$$`)? Then callers must build it."""
    if isinstance(template, dict):
        return any(
            (k.endswith(".$") and isinstance(v, str) and "$$" in v) or uses_context(v)
            for k, v in template.items()
        )
    if isinstance(template, list):
        return any(uses_context(v) for v in template)
    return False


def compile_template(template: Any) -> Builder:
    """Compile a payload template; raises ValueError (PathSyntaxError, IntrinsicSyntaxError)."""
    if isinstance(template, dict):
        items: list[tuple[str, Builder]] = []
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise ValueError(f"the value of '{key}' must be a path or intrinsic string")
                items.append((key[:-2], _dynamic(key, value)))
            else:
                items.append((key, compile_template(value)))

        def build_dict(data: Any, ctx: Any) -> Any:
            return {k: b(data, ctx) for k, b in items}

        return build_dict
    if isinstance(template, list):
        parts = [compile_template(v) for v in template]
        return lambda data, ctx: [b(data, ctx) for b in parts]
    return lambda data, ctx: template


def _dynamic(key: str, text: str) -> Builder:
    if is_intrinsic(text):
        evaluate = parse_intrinsic(text)

        def call(data: Any, ctx: Any) -> Any:
            try:
                return evaluate(data, ctx)
            except PathMissing as exc:
                raise _path_failure(key, exc.path, data) from None

        return call
    path = parse_path(text)
    get = path.get
    if path.context:

        def from_context(data: Any, ctx: Any) -> Any:
            try:
                return get(ctx)
            except PathMissing:
                raise _path_failure(key, text, ctx) from None

        return from_context

    def from_data(data: Any, ctx: Any) -> Any:
        try:
            return get(data)
        except PathMissing:
            raise _path_failure(key, text, data) from None

    return from_data


def _path_failure(key: str, path: str, data: Any) -> StatesError:
    # Step Functions reports this as States.Runtime (not the specification's
    # States.ParameterPathFailure), which States.ALL does not catch: what fails there must fail here
    return StatesError(
        RUNTIME,
        f"The JSONPath '{path}' specified for the field '{key}' could not be found in the "
        f"input '{preview(data)}'",
    )


def preview(data: Any, limit: int = 1000) -> str:
    """Compact JSON for error messages, cut at `limit` characters."""
    try:
        text = json.dumps(data, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(data)
    return text if len(text) <= limit else text[:limit] + "..."
