from __future__ import annotations

from typing import Any

import pytest

from cirrostratus.payload import PayloadError, assign_collections, find_collection

from .conftest import load

S2 = {"id": "S2B_17HQD_20201103_0_L2A", "collection": "old", "properties": {"gsd": 10}}
L1C = {"id": "S2A_1_L1C", "properties": {"gsd": 60}}


def test_cirrus_fixture_regex_map(test_payload: dict[str, Any]) -> None:
    features = test_payload["features"]
    assign_collections(features, test_payload["process"])
    assert features[0]["collection"] == "sentinel-s2-l2a-cogs"


def test_legacy_regex_matches_at_start_and_first_match_wins() -> None:
    mapping = {"l2a": ".*L2A", "s2b": "S2B", "tail": "L2A"}
    assert find_collection(S2, mapping=mapping) == "l2a"  # Cirrus v0.9 would say "s2b" (last)
    assert find_collection(S2, mapping={"tail": "L2A"}) is None  # re.match: anchored at start
    assert find_collection(L1C, mapping=mapping) is None


def test_legacy_jsonpath_values() -> None:
    assert find_collection(S2, mapping={"all": "*"}) == "all"
    assert find_collection(S2, mapping={"all": "$"}) == "all"
    mapping = {"coarse": "$[?(@.properties.gsd > 30)]", "fine": "$[?(@.id =~ 'S2B')]"}
    assert find_collection(S2, mapping=mapping) == "fine"
    assert find_collection(L1C, mapping=mapping) == "coarse"


def test_collection_matchers_in_order() -> None:
    matchers = [
        {"type": "jsonpath", "pattern": "$[?(@.id =~ 'L1C')]", "collection_name": "l1c"},
        {"type": "catch_all", "collection_name": "everything-else"},
        {"type": "jsonpath", "pattern": "$", "collection_name": "never"},
    ]
    assert find_collection(L1C, matchers=matchers) == "l1c"
    assert find_collection(S2, matchers=matchers) == "everything-else"


def test_assign_collections_keeps_unmatched_and_returns_features() -> None:
    features = [dict(S2), dict(L1C)]
    process = {
        "collection_matchers": [
            {"type": "jsonpath", "pattern": "$[?(@.id =~ 'L1C')]", "collection_name": "l1c"}
        ]
    }
    assert assign_collections(features, process) is features
    assert [f.get("collection") for f in features] == ["old", "l1c"]


def test_output_options_map_is_read_too() -> None:
    features = [dict(L1C)]
    assign_collections(features, {"output_options": {"collections": {"x": "S2A"}}})
    assert features[0]["collection"] == "x"


def test_both_rule_styles_is_an_error() -> None:
    data = load("invalid/both-collection-rules.json")
    with pytest.raises(PayloadError, match="both set; keep only collection_matchers"):
        assign_collections(data["features"], data["process"])


@pytest.mark.parametrize(
    ("matcher", "problem"),
    [
        (
            {"type": "regex", "collection_name": "a"},
            "process.collection_matchers[0].type must be 'jsonpath' or 'catch_all' (got 'regex')",
        ),
        (
            {"type": "catch_all"},
            "process.collection_matchers[0].collection_name must be a non-empty string",
        ),
        (
            {"type": "jsonpath", "collection_name": "a"},
            "process.collection_matchers[0].pattern must be a JSONPath string",
        ),
        (
            "catch_all",
            "process.collection_matchers[0] must be an object with type and collection_name",
        ),
    ],
)
def test_bad_matchers_are_reported(matcher: Any, problem: str) -> None:
    with pytest.raises(PayloadError) as err:
        assign_collections([], {"collection_matchers": [matcher]})
    assert err.value.problems == [problem]
