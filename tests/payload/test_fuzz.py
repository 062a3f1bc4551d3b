"""Arbitrary input must give a result or a PayloadError — never another exception."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cirrostratus.payload import Payload, PayloadError, render_path, unwrap

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "id",
        "type",
        "features",
        "process",
        "workflow",
        "collection",
        "collections",
        "input_collections",
        "upload_options",
        "output_options",
        "tasks",
        "functions",
        "replace",
        "chain_filter",
        "collection_matchers",
        "workflow_options",
        "properties",
        "datetime",
        "url",
        "href",
        "body",
        "Records",
        "Sns",
        "Message",
        "Parameters",
        "pattern",
        "collection_name",
        "name",
        "parameters",
    ]
)
shaped = st.recursive(
    scalars
    | st.sampled_from(["FeatureCollection", "wf", "$", "*", ".*", "catch_all", "jsonpath", "@.id"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=30,
)
settings_ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(data: Any) -> None:
    try:
        payload = Payload.from_dict(data)
    except PayloadError as err:
        assert err.problems and all(isinstance(p, str) and p for p in err.problems)
        str(err)
        return
    assert payload.to_dict()["id"] == payload.id
    payload.process, payload.tasks, payload.upload_options, payload.task_parameters("x")
    with contextlib.suppress(PayloadError):
        payload.next_payloads()


@settings_
@given(json_values)
def test_arbitrary_json(data: Any) -> None:
    check(data)


@settings_
@given(shaped)
def test_payload_shaped_json(data: Any) -> None:
    check(data)


patterns = st.sampled_from(
    ["$", "*", ".*", "S2", "[", "$[?(@.id =~ 'a')]", "$[?(@.properties.gsd > 1)]", "$[?(@.id ==", 3]
)
block = st.fixed_dictionaries(
    {"workflow": st.sampled_from(["wf", "a_b-c", "x", "wf", "wf"]) | shaped},
    optional={
        "chain_filter": st.sampled_from(["@.id =~ 'a'", "@.properties.gsd <= 0", "@.id ==", ""]),
        "upload_options": st.fixed_dictionaries(
            {},
            optional={
                "collections": st.dictionaries(st.text(max_size=3), patterns, max_size=2),
                "path_template": shaped,
            },
        )
        | shaped,
        "collection_matchers": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["jsonpath", "catch_all", "x"])},
                optional={"pattern": patterns, "collection_name": st.text(max_size=3)},
            ),
            max_size=2,
        ),
        "replace": st.booleans() | shaped,
        "tasks": st.dictionaries(st.text(max_size=3), st.dictionaries(st.text(max_size=3), scalars))
        | shaped,
        "collections": st.text(max_size=5) | st.lists(st.text(max_size=3), max_size=2),
    },
)
items = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "fake-1"]) | st.text(max_size=5)},
    optional={
        "collection": st.none() | st.text(max_size=4) | shaped,
        "properties": st.fixed_dictionaries(
            {}, optional={"gsd": scalars, "datetime": st.text(max_size=25)}
        )
        | shaped,
    },
)


@settings_
@given(
    st.fixed_dictionaries(
        {
            "features": st.lists(items, min_size=1, max_size=3),
            "process": block
            | st.lists(block | st.lists(block, max_size=3), min_size=1, max_size=3),
        },
        optional={
            "id": st.text(max_size=12) | shaped,
            "type": st.just("FeatureCollection") | shaped,
        },
    )
)
def test_near_valid_payloads(data: Any) -> None:
    check(data)


@settings_
@given(shaped)
def test_unwrap(event: Any) -> None:
    with contextlib.suppress(PayloadError):
        assert all(isinstance(p, dict) for p in unwrap(event, {}.__getitem__))


@settings_
@given(st.text(max_size=30), shaped)
def test_render_path(template: str, item: Any) -> None:
    if not isinstance(item, dict):
        item = {"properties": item}
    with contextlib.suppress(PayloadError):
        assert isinstance(render_path(template, item), str)


valid_block = st.fixed_dictionaries(
    {"workflow": st.sampled_from(["wf", "a_b-c"])},
    optional={
        "chain_filter": st.sampled_from(
            ["@.id =~ 'a'", "@.properties.gsd <= 0", "@.id =~ 'fake*' & @.properties.gsd <= 0"]
        )
    },
)


@settings_
@given(
    st.lists(items, min_size=1, max_size=4),
    valid_block,
    valid_block | st.lists(valid_block, min_size=1, max_size=3),
)
def test_chains(features: list[Any], head: Any, following: Any) -> None:
    data = {"features": features, "process": [head, following]}
    try:
        payload = Payload.from_dict(data)
    except PayloadError:
        return
    branches = following if isinstance(following, list) else [following]
    nexts = payload.next_payloads()
    assert len(nexts) <= len(branches)
    for nxt in nexts:
        assert nxt["features"] and all(f in features for f in nxt["features"])
        assert Payload.from_dict(nxt).id == nxt["id"]
