from __future__ import annotations

import copy
from typing import Any

import pytest

from cirrostratus.payload import Payload, PayloadError

from .conftest import load


def minimal(**process: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [{"id": "b-item", "collection": "c2"}, {"id": "a-item", "collection": "c1"}],
        "process": {"workflow": "wf", **process},
    }


def test_cirrus_fixture_id(test_payload: dict[str, Any]) -> None:
    p = Payload.from_dict(test_payload)
    assert p.id == "sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A"
    assert p.collections == "sentinel-s2-l2a"
    assert p.workflow == "cog-archive"
    assert p.item_ids == ("S2B_17HQD_20201103_0_L2A",)
    assert p.to_dict()["id"] == p.id


def test_id_is_regenerated_when_removed(test_payload: dict[str, Any]) -> None:
    test_payload["id"] = "x/workflow-old/y"
    assert Payload.from_dict(test_payload).id == "x/workflow-old/y"  # a given id is kept
    del test_payload["id"]
    assert Payload.from_dict(test_payload).id.startswith("sentinel-s2-l2a/workflow-cog-archive/")


def test_given_id_is_split_into_parts() -> None:
    data = minimal()
    data["id"] = "a/b/workflow-my_flow-2/i1/i2"
    p = Payload.from_dict(data)
    assert (p.collections, p.item_ids) == ("a/b", ("i1", "i2"))
    assert p.id_parts.workflow == "my_flow-2"
    assert p.workflow == "wf"


def test_given_id_must_have_the_cirrus_shape() -> None:
    data = minimal()
    data["id"] = "some-collection/some-workflow/an-item-id"
    with pytest.raises(PayloadError) as err:
        Payload.from_dict(data)
    assert err.value.problems == [
        "id 'some-collection/some-workflow/an-item-id' must look like"
        " '<collections>/workflow-<workflow>/<item ids>'"
    ]


@pytest.mark.parametrize(
    ("process", "expected"),
    [
        (
            {"collections": "given", "input_collections": ["ignored"]},
            "given/workflow-wf/a-item/b-item",
        ),
        ({"input_collections": ["x", "a/b"]}, "x/a/b/workflow-wf/a-item/b-item"),
        ({}, "c1/c2/workflow-wf/a-item/b-item"),
    ],
)
def test_collections_part_precedence(process: dict[str, Any], expected: str) -> None:
    assert Payload.from_dict(minimal(**process)).id == expected


def test_no_collections_anywhere_gives_none_not_n_o_n_e() -> None:
    data = minimal()
    for f in data["features"]:
        del f["collection"]
    assert Payload.from_dict(data).id == "none/workflow-wf/a-item/b-item"


def test_process_chain_head_is_current_block() -> None:
    data = minimal()
    data["process"] = [{"workflow": "first", "replace": True}, {"workflow": "second"}]
    p = Payload.from_dict(data)
    assert p.workflow == "first"
    assert p.replace is True
    assert p.process == {"workflow": "first", "replace": True}
    assert p.to_dict()["process"] == data["process"]


def test_output_options_alias_and_legacy_functions() -> None:
    opts = {"path_template": "${id}"}
    p = Payload.from_dict(minimal(output_options=opts, functions={"publish": {"public": True}}))
    assert p.upload_options == opts
    assert p.tasks == {"publish": {"public": True}}
    out = p.to_dict()["process"]
    assert out["upload_options"] == opts and out["output_options"] == opts  # old tasks read either
    assert out["tasks"] == {"publish": {"public": True}}


def test_alias_conflict_is_reported() -> None:
    with pytest.raises(PayloadError) as err:
        Payload.from_dict(minimal(output_options={"a": 1}, upload_options={"a": 2}))
    assert "process.output_options (the old name of upload_options)" in str(err.value)


def test_tasks_list_form_and_task_parameters() -> None:
    p = Payload.from_dict(
        minimal(
            tasks=[{"name": "copy", "parameters": {"assets": ["a"], "x": 1}}],
            workflow_options={"x": 0, "y": 2},
        )
    )
    assert p.tasks == {"copy": {"assets": ["a"], "x": 1}}
    assert p.task_parameters("copy") == {"x": 1, "y": 2, "assets": ["a"]}
    assert p.task_parameters("unknown") == {"x": 0, "y": 2}
    assert p.to_dict()["process"]["tasks"] == {"copy": {"assets": ["a"], "x": 1}}


def test_defaults_when_optional_keys_are_absent() -> None:
    p = Payload.from_dict(minimal())
    assert (p.replace, p.tasks, p.upload_options, p.task_parameters("t")) == (False, {}, {}, {})


def test_from_dict_does_not_mutate_or_copy_input(test_payload: dict[str, Any]) -> None:
    before = copy.deepcopy(test_payload)
    p = Payload.from_dict(test_payload)
    p.to_dict()
    assert test_payload == before
    assert p.features is test_payload["features"]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(PayloadError) as err:
        Payload.from_dict(load("invalid/many-problems.json"), source="bad.json")
    assert err.value.problems == [
        "type must be 'FeatureCollection' (got 'Feature')",
        "features[2].id must be a non-empty string",
        "features[3] must be an object (a STAC item)",
        "features[4].collection must be a string",
        "process.workflow is required",
        "process.upload_options.path_template must be a string",
        "process.tasks.publish must be an object of task parameters",
        "process.replace must be true or false",
    ]
    message = str(err.value)
    assert message.startswith("bad.json: 8 problems in the payload:")
    assert "  - process.workflow is required" in message


def test_chain_blocks_and_patterns_are_checked_up_front() -> None:
    with pytest.raises(PayloadError) as err:
        Payload.from_dict(load("invalid/bad-patterns.json"))
    problems = err.value.problems
    assert len(problems) == 4
    assert problems[0].startswith(
        "process[0].upload_options.collections.a 'S2[' is not a valid regular"
    )
    assert problems[1].startswith(
        "process[0].upload_options.collections.b '$[?(@.id ===' is not a valid JSONPath"
    )
    assert problems[2].startswith("process[1].chain_filter '@.id ==' is not a valid JSONPath")
    assert problems[3] == "process[2][0].workflow is required"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "payload must be a JSON object with features and process (got a list)"),
        ({"features": []}, "process is required (an object with at least workflow)"),
        ({"process": {"workflow": "w"}}, "features is required (a list of STAC items)"),
        (
            {"features": [], "process": {"workflow": "w"}},
            "features is empty, so no payload id can be made; add an item or an id",
        ),
        ({"features": [{"id": "i"}], "process": []}, "process must not be an empty list"),
        (
            {"features": [{"id": "i"}], "process": "w"},
            "process must be an object or a list of process blocks (a chain)",
        ),
        (
            {"features": [{"id": "i"}], "process": {"workflow": "a/b"}},
            "process.workflow 'a/b' must not contain '/'",
        ),
        (
            {"features": [{"id": "i"}], "process": {"workflow": 3}},
            "process.workflow must be a non-empty string",
        ),
        (
            {"features": [{"id": "i"}], "process": [{"workflow": "w"}, []]},
            "process[1] must not be an empty list",
        ),
        (
            {"id": 5, "features": [{"id": "i"}], "process": {"workflow": "w"}},
            "id must be a non-empty string (or left out to have one made)",
        ),
        (
            {"features": [{"id": "i"}], "process": {"workflow": "w", "collections": []}},
            "process.collections must be a non-empty string or list of strings",
        ),
    ],
)
def test_single_problems(data: Any, problem: str) -> None:
    with pytest.raises(PayloadError) as err:
        Payload.from_dict(data)
    assert err.value.problems == [problem]


def test_empty_features_are_fine_with_a_given_id() -> None:
    p = Payload.from_dict({"id": "c/workflow-w/i", "features": [], "process": {"workflow": "w"}})
    assert (p.id, p.features) == ("c/workflow-w/i", [])


def test_error_pickles_with_problems_and_source() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(PayloadError(["a is required", "b"], "f.json")))
    assert (err.problems, err.source) == (["a is required", "b"], "f.json")
