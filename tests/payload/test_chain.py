from __future__ import annotations

import copy

import pytest

from cirrostratus.payload import Payload

from .conftest import load


@pytest.mark.parametrize(
    ("fixture", "count"), [("dict", 0), ("list-of-1", 0), ("list-of-4", 1), ("fork", 2)]
)
def test_cirrus_chain_counts(fixture: str, count: int) -> None:
    assert len(Payload.from_dict(load(f"chain/{fixture}.json")).next_payloads()) == count


def test_one_to_one_shifts_the_chain_and_makes_a_new_id() -> None:
    data = load("chain/list-of-4.json")
    data["id"] = "test-collection/workflow-mirror/test-item"
    (nxt,) = Payload.from_dict(data).next_payloads()
    assert nxt["id"] == "test-collection/workflow-add-preview/test-item"
    assert [b["workflow"] for b in nxt["process"]] == ["add-preview", "cog-archive", "publish-only"]
    assert nxt["features"] == data["features"]
    assert Payload.from_dict(nxt).workflow == "add-preview"


def test_fork_makes_one_payload_per_branch_each_with_its_own_id() -> None:
    nexts = Payload.from_dict(load("chain/fork.json")).next_payloads()
    assert [n["id"] for n in nexts] == [
        "test-collection/workflow-add-preview/test-item",
        "derived/workflow-publish-only/test-item",
    ]
    assert [n["process"][0]["workflow"] for n in nexts] == ["add-preview", "publish-only"]
    assert all(len(n["process"]) == 1 for n in nexts)


def test_chain_filter_keeps_only_matching_features() -> None:
    (nxt,) = Payload.from_dict(load("chain/filter.json")).next_payloads()
    assert [f["id"] for f in nxt["features"]] == ["fake-item-2"]
    assert nxt["id"] == "test-collection/workflow-publish-only/fake-item-2"
    assert nxt["process"][0]["chain_filter"]  # the filter stays on its block


def test_branch_with_no_features_left_is_not_emitted() -> None:
    nexts = Payload.from_dict(load("chain/filter-none.json")).next_payloads()
    assert [n["process"][0]["workflow"] for n in nexts] == ["cog-archive"]


def test_next_payloads_leave_the_original_alone() -> None:
    data = load("chain/fork.json")
    before = copy.deepcopy(data)
    Payload.from_dict(data).next_payloads()
    assert data == before
