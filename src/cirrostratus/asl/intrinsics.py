"""Intrinsic functions (`States.Format('{}', $.x)` and friends), parsed once into closures.

`parse_intrinsic(text)` checks the syntax, the function names and their arity and returns an
evaluator `(data, context) -> value`. Runtime problems (wrong argument types, bad JSON, an
index out of range) raise States.IntrinsicFailure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from cirrostratus.asl import intrinsic_functions as fn
from cirrostratus.asl.errors import INTRINSIC_FAILURE, StatesError
from cirrostratus.asl.paths import PathSyntaxError, parse_path

Evaluator = Callable[[Any, Any], Any]


class IntrinsicSyntaxError(ValueError):
    """The text is not a valid intrinsic function call."""


def is_intrinsic(text: str) -> bool:
    return text.startswith("States.")


def parse_intrinsic(text: str) -> Evaluator:
    parser = _Parser(text)
    node = parser.call()
    parser.skip_ws()
    if parser.pos != len(text):
        raise IntrinsicSyntaxError(
            f"{text!r}: unexpected text after the call: {text[parser.pos :]!r}"
        )
    return node


def _fail(message: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, message)


class _Literal:
    """A string literal: its unescaped value, and its raw text for States.Format templates."""

    __slots__ = ("raw", "value")

    def __init__(self, value: str, raw: str) -> None:
        self.value = value
        self.raw = raw


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{self.text!r}: {message} (at position {self.pos + 1})")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def call(self) -> Evaluator:
        self.skip_ws()
        m = re.compile(r"States\.([A-Za-z0-9]+)\(").match(self.text, self.pos)
        if not m:
            raise self.error("expected a call like States.Format(...)")
        name = m.group(1)
        if name not in _FUNCTIONS:
            raise IntrinsicSyntaxError(f"{self.text!r}: unknown intrinsic function States.{name}")
        self.pos = m.end()
        args: list[Any] = []
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.argument())
                self.skip_ws()
                ch = self.peek()
                self.pos += 1
                if ch == ")":
                    break
                if ch != ",":
                    self.pos -= 1
                    raise self.error("expected ',' or ')'")
        low, high, impl = _FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            want = str(low) if low == high else f"{low}..{high if high is not None else 'n'}"
            raise IntrinsicSyntaxError(
                f"{self.text!r}: States.{name} takes {want} argument(s), got {len(args)}"
            )
        return _bind(name, impl, args)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def argument(self) -> Any:
        self.skip_ws()
        ch = self.peek()
        if ch == "'":
            return self.string()
        if ch == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call()
        m = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null").match(self.text, self.pos)
        if not m:
            raise self.error("expected a string, number, boolean, null, path or call")
        self.pos = m.end()
        word = m.group(0)
        if word in ("true", "false", "null"):
            const: Any = {"true": True, "false": False, "null": None}[word]
        else:
            const = float(word) if m.group(1) or m.group(2) else int(word)
        return _Const(const)

    def string(self) -> _Literal:
        self.pos += 1
        value, start = [], self.pos
        while True:
            ch = self.peek()
            if ch == "":
                raise self.error("unterminated string literal")
            if ch == "\\":
                nxt = self.text[self.pos + 1 : self.pos + 2]
                if nxt not in ("'", "\\", "{", "}"):
                    raise self.error(f"unknown escape '\\{nxt}' (escape only ' {{ }} and \\)")
                value.append(nxt)
                self.pos += 2
                continue
            if ch == "'":
                raw = self.text[start : self.pos]
                self.pos += 1
                return _Literal("".join(value), raw)
            value.append(ch)
            self.pos += 1

    def path(self) -> _PathArg:
        start, depth, quote = self.pos, 0, ""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "'\"" and depth:
                quote = ch
            elif ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif ch in ",)" and depth == 0:
                break
            self.pos += 1
        text = self.text[start : self.pos].strip()
        try:
            return _PathArg(parse_path(text))
        except PathSyntaxError as exc:
            raise IntrinsicSyntaxError(f"{self.text!r}: {exc}") from None


class _Const:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _PathArg:
    __slots__ = ("path",)

    def __init__(self, path: Any) -> None:
        self.path = path


def _bind(name: str, impl: Callable[..., Any], args: list[Any]) -> Evaluator:
    getters: list[Evaluator] = []
    for arg in args:
        if isinstance(arg, _Literal | _Const):
            getters.append(_const_getter(arg.value))
        elif isinstance(arg, _PathArg):
            getters.append(_path_getter(arg.path))
        else:
            getters.append(arg)
    if name == "Format" and isinstance(args[0], _Literal):
        template = _format_template(args[0].raw, escaped=True)
        rest = getters[1:]
        return lambda data, ctx: _render(template, [g(data, ctx) for g in rest])

    def evaluate(data: Any, ctx: Any) -> Any:
        return impl(*[g(data, ctx) for g in getters])

    return evaluate


def _const_getter(value: Any) -> Evaluator:
    return lambda data, ctx: value


def _path_getter(path: Any) -> Evaluator:
    get = path.get
    if path.context:
        return lambda data, ctx: get(ctx)
    return lambda data, ctx: get(data)


# --- States.Format -------------------------------------------------------------------------


def _format_template(raw: str, *, escaped: bool) -> list[str | None]:
    """Split a template into literal pieces and None for each `{}` placeholder."""
    parts: list[str | None] = []
    buf: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if escaped and ch == "\\" and i + 1 < len(raw):
            buf.append(raw[i + 1])
            i += 2
        elif raw.startswith("{}", i):
            parts.append("".join(buf))
            parts.append(None)
            buf = []
            i += 2
        else:
            buf.append(ch)
            i += 1
    parts.append("".join(buf))
    return parts


def _render(template: list[str | None], values: list[Any]) -> str:
    holes = template.count(None)
    if holes != len(values):
        raise _fail(
            f"States.Format: the template has {holes} '{{}}' but {len(values)} value(s) were given"
        )
    out, it = [], iter(values)
    for part in template:
        out.append(_format_value(next(it)) if part is None else part)
    return "".join(out)


def _format_value(value: Any) -> str:
    """How Step Functions (a Java service) prints a value into a States.Format template:
    strings bare, objects as `{k=v, k2=v2}` and arrays as `[1, a]` (Java's toString, nested
    values printed the same way), other scalars as JSON (`1`, `1.5`, `true`, `null`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    return json.dumps(value)


def _format(template: Any, *values: Any) -> str:
    if not isinstance(template, str):
        raise _fail("States.Format: the first argument must be a string")
    return _render(_format_template(template, escaped=False), list(values))


# name -> (min args, max args or None, implementation)
_FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "Format": (1, None, _format),
    "StringToJson": (1, 1, fn.string_to_json),
    "JsonToString": (1, 1, fn.json_to_string),
    "Array": (0, None, fn.array),
    "ArrayPartition": (2, 2, fn.array_partition),
    "ArrayContains": (2, 2, fn.array_contains),
    "ArrayRange": (3, 3, fn.array_range),
    "ArrayGetItem": (2, 2, fn.array_get_item),
    "ArrayLength": (1, 1, fn.array_length),
    "ArrayUnique": (1, 1, fn.array_unique),
    "Base64Encode": (1, 1, fn.base64_encode),
    "Base64Decode": (1, 1, fn.base64_decode),
    "Hash": (2, 2, fn.hash),
    "JsonMerge": (3, 3, fn.json_merge),
    "MathRandom": (2, 3, fn.math_random),
    "MathAdd": (2, 2, fn.math_add),
    "StringSplit": (2, 2, fn.string_split),
    "UUID": (0, 0, fn.new_uuid),
}

FUNCTION_NAMES = tuple(f"States.{name}" for name in _FUNCTIONS)
