"""JSONPath as Step Functions uses it, parsed once into fast accessors.

A *definite* path (names and single indexes only, e.g. `$.process.tasks.copy-assets.batch`,
`$['a-b'][0]`) selects one node and compiles to a tuple of keys walked in a tight loop. Any
other path (`[*]`, `.*`, slices `[1:3]`, unions `[0,2]`, deep scan `..x`, filters
`[?(@.x > 1)]`) selects a list of nodes, as Jayway JsonPath (which AWS uses) does. Reference
paths, the kind ResultPath and ItemsPath take, must be definite.

Names after a dot run until the next `.` or `[`, so hyphens, colons and spaces work as on AWS.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

Key = str | int
Getter = Callable[[Any], Any]


class PathSyntaxError(ValueError):
    """The text is not a JSONPath Step Functions would accept."""


class PathMissing(LookupError):
    """A definite path selected nothing in the data."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


_MISSING = object()


class Path:
    """A compiled JSONPath. `get(data)` returns the node (definite) or the list of matches."""

    __slots__ = ("context", "definite", "get", "keys", "text")

    def __init__(self, text: str, steps: list[tuple[Any, ...]], context: bool) -> None:
        self.text = text
        self.context = context
        self.definite = all(s[0] in ("key", "index") for s in steps)
        self.keys: tuple[Key, ...] = tuple(s[1] for s in steps) if self.definite else ()
        self.get: Getter = (
            _definite_getter(text, self.keys) if self.definite else _multi_getter(steps)
        )

    def __repr__(self) -> str:
        return f"Path({self.text!r})"


def parse_path(text: str) -> Path:
    """Parse `$...` (data) or `$$...` (context object) into a Path."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"a path must start with '$', got {text!r}")
    context = text.startswith("$$")
    body = text[2:] if context else text[1:]
    return Path(text, _parse_steps(body, text), context)


def parse_reference_path(text: str) -> Path:
    """A path that names exactly one node (no wildcards, slices, filters or deep scan)."""
    path = parse_path(text)
    if not path.definite:
        raise PathSyntaxError(
            f"{text!r} is not a reference path: use only names and single indexes here"
        )
    if path.context:
        raise PathSyntaxError(f"{text!r}: a reference path cannot address the context object")
    return path


def _definite_getter(text: str, keys: tuple[Key, ...]) -> Getter:
    if not keys:
        return lambda data: data
    if len(keys) == 1 and isinstance(keys[0], str):
        k0 = keys[0]

        def get1(data: Any) -> Any:
            if type(data) is dict:
                value = data.get(k0, _MISSING)
                if value is not _MISSING:
                    return value
            raise PathMissing(text)

        return get1

    def get(data: Any) -> Any:
        cur = data
        for key in keys:
            if type(key) is str:
                if not isinstance(cur, dict):
                    raise PathMissing(text)
                cur = cur.get(key, _MISSING)
                if cur is _MISSING:
                    raise PathMissing(text)
            else:
                if not isinstance(cur, list):
                    raise PathMissing(text)
                try:
                    cur = cur[key]  # type: ignore[index]
                except IndexError:
                    raise PathMissing(text) from None
        return cur

    return get


def _multi_getter(steps: list[tuple[Any, ...]]) -> Getter:
    def get(data: Any) -> Any:
        nodes = [data]
        for step in steps:
            nodes = [child for node in nodes for child in _apply(step, node)]
        return nodes

    return get


def _apply(step: tuple[Any, ...], node: Any) -> list[Any]:
    kind = step[0]
    if kind == "key":
        if isinstance(node, dict) and step[1] in node:
            return [node[step[1]]]
        return []
    if kind == "index":
        if isinstance(node, list) and -len(node) <= step[1] < len(node):
            return [node[step[1]]]
        return []
    if kind == "names":
        return [node[k] for k in step[1] if isinstance(node, dict) and k in node]
    if kind == "indexes":
        if not isinstance(node, list):
            return []
        return [node[i] for i in step[1] if -len(node) <= i < len(node)]
    if kind == "wild":
        if isinstance(node, dict):
            return list(node.values())
        return list(node) if isinstance(node, list) else []
    if kind == "slice":
        return node[step[1] : step[2] : step[3]] if isinstance(node, list) else []
    if kind == "filter":
        items = node.values() if isinstance(node, dict) else node
        if not isinstance(node, dict | list):
            return []
        return [item for item in items if step[1](item)]
    if kind == "deep":
        found: list[Any] = []
        _deep(node, step[1], found)
        return found
    raise AssertionError(kind)  # pragma: no cover


def _deep(node: Any, inner: tuple[Any, ...], found: list[Any]) -> None:
    found.extend(_apply(inner, node))
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        _deep(child, inner, found)


_NAME = re.compile(r"[^.\[\]]+")
_INT = re.compile(r"-?\d+$")


def _parse_steps(body: str, text: str) -> list[tuple[Any, ...]]:
    steps: list[tuple[Any, ...]] = []
    i = 0
    while i < len(body):
        if body.startswith("..", i):
            i += 2
            if i < len(body) and body[i] == "[":
                inner, i = _parse_bracket(body, i, text)
            else:
                inner, i = _parse_dot_name(body, i, text)
            steps.append(("deep", inner))
        elif body[i] == ".":
            inner, i = _parse_dot_name(body, i + 1, text)
            steps.append(inner)
        elif body[i] == "[":
            inner, i = _parse_bracket(body, i, text)
            steps.append(inner)
        else:
            raise PathSyntaxError(f"{text!r}: unexpected {body[i]!r} at position {i + 1}")
    return steps


def _parse_dot_name(body: str, i: int, text: str) -> tuple[tuple[Any, ...], int]:
    m = _NAME.match(body, i)
    if not m:
        raise PathSyntaxError(f"{text!r}: a name is missing after '.'")
    name = m.group(0)
    if name == "*":
        return ("wild",), m.end()
    return ("key", name), m.end()


def _split_top(inner: str) -> list[str]:
    """Split a bracket body on commas outside quotes."""
    parts, cur, quote = [], "", ""
    for ch in inner:
        if quote:
            cur += ch
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            cur += ch
        elif ch == ",":
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def _parse_bracket(body: str, i: int, text: str) -> tuple[tuple[Any, ...], int]:
    if body.startswith("[?(", i):
        end = body.find(")]", i)
        if end < 0:
            raise PathSyntaxError(f"{text!r}: unterminated filter '[?(...)]'")
        return ("filter", _parse_filter(body[i + 3 : end], text)), end + 2
    end, quote = i + 1, ""
    while end < len(body):
        ch = body[end]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "]":
            break
        end += 1
    else:
        raise PathSyntaxError(f"{text!r}: missing ']'")
    inner = body[i + 1 : end].strip()
    nxt = end + 1
    if inner == "*":
        return ("wild",), nxt
    parts = _split_top(inner)
    if all(len(p) >= 2 and p[0] == p[-1] and p[0] in "'\"" for p in parts):
        names = tuple(p[1:-1] for p in parts)
        return (("key", names[0]) if len(names) == 1 else ("names", names)), nxt
    if all(_INT.match(p) for p in parts):
        idx = tuple(int(p) for p in parts)
        return (("index", idx[0]) if len(idx) == 1 else ("indexes", idx)), nxt
    if len(parts) == 1 and ":" in inner:
        bits = inner.split(":")
        if len(bits) <= 3 and all(b.strip() == "" or _INT.match(b.strip()) for b in bits):
            nums = [int(b) if b.strip() else None for b in bits] + [None]
            if nums[2] == 0:
                raise PathSyntaxError(f"{text!r}: a slice step cannot be 0")
            return ("slice", nums[0], nums[1], nums[2]), nxt
    raise PathSyntaxError(f"{text!r}: cannot read '[{inner}]'")


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_FILTER = re.compile(r"^\s*@(?P<path>[^=!<>\s]*)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<lit>.+?))?\s*$")


def _parse_filter(expr: str, text: str) -> Callable[[Any], bool]:
    """`@.x`, `@.x == 'a'`, `@.n < 3`; joined by `&&` or `||` (no parentheses)."""
    if "||" in expr:
        ors = [_parse_filter(part, text) for part in expr.split("||")]
        return lambda item: any(f(item) for f in ors)
    if "&&" in expr:
        ands = [_parse_filter(part, text) for part in expr.split("&&")]
        return lambda item: all(f(item) for f in ands)
    m = _FILTER.match(expr)
    if not m:
        raise PathSyntaxError(f"{text!r}: cannot read the filter {expr!r}")
    rel = Path("@" + m.group("path"), _parse_steps(m.group("path"), text), False)
    if not rel.definite:
        raise PathSyntaxError(f"{text!r}: filter paths must be simple names")
    if m.group("op") is None:

        def exists(item: Any) -> bool:
            try:
                rel.get(item)
            except PathMissing:
                return False
            return True

        return exists
    op = _OPS[m.group("op")]
    literal = _filter_literal(m.group("lit"), text)

    def compare(item: Any) -> bool:
        try:
            value = rel.get(item)
            return bool(op(value, literal))
        except (PathMissing, TypeError):
            return False

    return compare


def _filter_literal(raw: str, text: str) -> Any:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    if raw in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[raw]
    try:
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        raise PathSyntaxError(f"{text!r}: cannot read the literal {raw!r}") from None


class ResultPathMismatch(Exception):
    """ResultPath cannot be applied to this input (it is not an object where one is needed)."""


def set_at(data: Any, keys: tuple[Key, ...], value: Any) -> Any:
    """Return `data` with `value` placed at `keys`, copying only the containers on the way.

    Missing objects along the way are created; the input itself is never modified, so values
    can be shared between states, branches and history without defensive deep copies.
    """
    if not keys:
        return value
    root = _copy_container(data, keys[0])
    cur = root
    for pos, key in enumerate(keys[:-1]):
        nxt = keys[pos + 1]
        child = cur.get(key, _MISSING) if isinstance(cur, dict) else _list_get(cur, key)
        if child is _MISSING:
            if isinstance(nxt, int):
                raise ResultPathMismatch(f"there is no array at {key!r}")
            child = {}
        else:
            child = _copy_container(child, nxt)
        cur[key] = child
        cur = child
    cur[keys[-1]] = value
    return root


def _list_get(container: Any, key: Key) -> Any:
    try:
        return container[key]
    except (IndexError, TypeError):
        raise ResultPathMismatch(f"index {key!r} is out of range") from None


def _copy_container(node: Any, key: Key) -> Any:
    if isinstance(key, str):
        if isinstance(node, dict):
            return dict(node)
        raise ResultPathMismatch(f"cannot set {key!r} on a {_json_type(node)}")
    if isinstance(node, list):
        if -len(node) <= key < len(node):
            return list(node)
        raise ResultPathMismatch(f"index {key} is out of range")
    raise ResultPathMismatch(f"cannot index a {_json_type(node)} with [{key}]")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {dict: "object", list: "array", str: "string"}
    return names.get(type(value), type(value).__name__)
