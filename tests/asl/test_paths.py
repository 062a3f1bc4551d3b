from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cirrostratus.asl.paths import (
    PathMissing,
    PathSyntaxError,
    ResultPathMismatch,
    parse_path,
    parse_reference_path,
    set_at,
)

DATA = {
    "process": {"tasks": {"copy-assets": {"batch": True}}},
    "a-b": 1,
    "list": [{"n": 1, "t": "x"}, {"n": 2, "t": "y"}, {"n": 3}],
    "deep": {"x": {"id": 1, "y": {"id": 2}}},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DATA),
        ("$.process.tasks.copy-assets.batch", True),
        ("$['a-b']", 1),
        ('$["a-b"]', 1),
        ("$.list[0].n", 1),
        ("$.list[-1].n", 3),
        ("$['process']['tasks']", {"copy-assets": {"batch": True}}),
    ],
)
def test_definite_paths_select_one_node(path: str, expected: object) -> None:
    compiled = parse_path(path)
    assert compiled.definite
    assert compiled.get(DATA) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.list[*].n", [1, 2, 3]),
        ("$.list[0:2].n", [1, 2]),
        ("$.list[1:].n", [2, 3]),
        ("$.list[0,2].n", [1, 3]),
        ("$..id", [1, 2]),
        ("$.list[?(@.n > 1)].n", [2, 3]),
        ("$.list[?(@.t == 'x')].n", [1]),
        ("$.list[?(@.t)].n", [1, 2]),
        ("$.deep.*.id", [1]),
        ("$.missing[*]", []),
    ],
)
def test_indefinite_paths_return_lists(path: str, expected: list[object]) -> None:
    compiled = parse_path(path)
    assert not compiled.definite
    assert compiled.get(DATA) == expected


@pytest.mark.parametrize(
    "path", ["$.nope", "$.list[7]", "$.a-b.c", "$.list.n", "$.process.tasks.x"]
)
def test_missing_definite_path_raises(path: str) -> None:
    with pytest.raises(PathMissing):
        parse_path(path).get(DATA)


@pytest.mark.parametrize("path", ["", "a.b", "$.", "$[", "$[abc]", "$.a[1:2:0]", "$x"])
def test_bad_syntax_is_refused(path: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(path)


def test_context_paths_are_marked() -> None:
    path = parse_path("$$.Map.Item.Value")
    assert path.context and path.keys == ("Map", "Item", "Value")


@pytest.mark.parametrize("path", ["$.a[*]", "$..x", "$.a[0:1]", "$$.Execution.Id"])
def test_reference_paths_refuse_wildcards_and_context(path: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_reference_path(path)


def test_set_at_creates_objects_and_leaves_input_alone() -> None:
    data = {"a": {"b": 1}, "keep": [1]}
    out = set_at(data, ("a", "c", "d"), 5)
    assert out == {"a": {"b": 1, "c": {"d": 5}}, "keep": [1]}
    assert data == {"a": {"b": 1}, "keep": [1]}
    assert out["keep"] is data["keep"]  # untouched branches are shared, not copied


def test_set_at_root_replaces_and_index_sets_array_element() -> None:
    assert set_at({"x": 1}, (), "r") == "r"
    data = {"l": [1, 2]}
    assert set_at(data, ("l", 1), 9) == {"l": [1, 9]}
    assert data == {"l": [1, 2]}


@pytest.mark.parametrize(
    ("data", "keys"),
    [("string", ("a",)), ({"a": "str"}, ("a", "b")), ({"l": [1]}, ("l", 5)), ({}, ("l", 0))],
)
def test_set_at_mismatch(data: object, keys: tuple[str | int, ...]) -> None:
    with pytest.raises(ResultPathMismatch):
        set_at(data, keys, 1)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet="abc-_", min_size=1, max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    data=st.dictionaries(st.text(alphabet="abc", min_size=1, max_size=2), _json, max_size=4),
    keys=st.lists(st.text(alphabet="abc-", min_size=1, max_size=3), min_size=1, max_size=3),
    value=_json,
)
def test_set_at_then_get_round_trips_without_touching_the_input(
    data: dict[str, Any], keys: list[str], value: Any
) -> None:
    before = copy.deepcopy(data)
    path = parse_path("$" + "".join(f"['{k}']" for k in keys))
    try:
        out = set_at(data, tuple(keys), value)
    except ResultPathMismatch:
        return  # something on the way is not an object
    assert path.get(out) == value
    assert data == before
    dotted = parse_path("$." + ".".join(keys))
    assert dotted.keys == path.keys
