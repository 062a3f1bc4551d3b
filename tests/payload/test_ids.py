from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cirrostratus.payload import PayloadError, collections_part, payload_id, split_payload_id

segment = st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=12)
workflow = st.text(st.sampled_from("abz09_-."), min_size=1, max_size=15)
collections = (
    st.lists(segment, min_size=1, max_size=3).map("/".join).filter(lambda c: "/workflow-" not in c)
)


def test_cirrus_fixture_id() -> None:
    pid = "sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A"
    assert payload_id("sentinel-s2-l2a", "cog-archive", ["S2B_17HQD_20201103_0_L2A"]) == pid
    parts = split_payload_id(pid)
    assert parts == ("sentinel-s2-l2a", "cog-archive", ("S2B_17HQD_20201103_0_L2A",))
    assert parts.items == "S2B_17HQD_20201103_0_L2A"


def test_item_ids_are_sorted_and_collections_lists_joined() -> None:
    assert payload_id(["a", "b/c"], "w", ["z", "m"]) == "a/b/c/workflow-w/m/z"
    assert payload_id("c", "w", "z/m") == "c/workflow-w/z/m"  # a string is used as it is
    assert payload_id("c", "w", []) == "c/workflow-w"


@given(collections, workflow, st.lists(segment, max_size=4))
def test_round_trip(cols: str, wf: str, items: list[str]) -> None:
    pid = payload_id(cols, wf, items)
    parts = split_payload_id(pid)
    assert parts.collections == cols
    assert parts.workflow == wf
    assert parts.item_ids == tuple(sorted(items))
    assert payload_id(*parts) == pid
    assert payload_id(parts.collections, parts.workflow, parts.items) == pid


def test_workflow_with_underscores_and_dashes() -> None:
    parts = split_payload_id("a_b/c-d/workflow-my_work-flow_2/x_y/z")
    assert parts == ("a_b/c-d", "my_work-flow_2", ("x_y", "z"))


@pytest.mark.parametrize(
    ("given_collections", "items", "expected"),
    [
        (None, ["b", "a", None, "a"], "a/b"),
        (None, [None], "none"),
        (["x", "a"], ["b"], "x/a"),
        ("given", ["b"], "given"),
    ],
)
def test_collections_part(
    given_collections: object, items: list[str | None], expected: str
) -> None:
    assert collections_part(given_collections, items) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad", ["", "no-separator", "/workflow-w/i", "c/workflow-", "c/workflow-/i", 7]
)
def test_split_rejects_malformed_ids(bad: object) -> None:
    with pytest.raises(PayloadError):
        split_payload_id(bad)  # type: ignore[arg-type]


def test_payload_id_refuses_what_would_not_split_back() -> None:
    with pytest.raises(PayloadError) as err:
        payload_id("a/workflow-b", "w/x", ["i"])
    assert err.value.problems == [
        "payload id collections 'a/workflow-b' must not contain '/workflow-'",
        "process.workflow 'w/x' must not contain '/'",
    ]
