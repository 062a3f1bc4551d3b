from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.payload import (
    Payload,
    PayloadError,
    batch_output_url,
    encode,
    load_payloads,
    parse_payloads,
    unwrap,
)

from .conftest import FIXTURES, load

EVENTS = sorted(
    p.name[: -len(".expected.json")] for p in (FIXTURES / "events").glob("*.expected.json")
)


@pytest.mark.parametrize("name", EVENTS)
def test_event_fixtures_unwrap_to_their_payloads(name: str) -> None:
    assert unwrap(load(f"events/{name}.json")) == load(f"events/{name}.expected.json")


def test_cirrus_sqs_event_id() -> None:
    (payload,) = parse_payloads(FIXTURES / "sqs-event.json")
    assert payload.id == "sentinel-s2-l2a-aws/workflow-publish-sentinel/tiles-17-H-QD-2020-11-3-0"


def test_url_in_an_sqs_body_is_read_through_the_reader(test_payload: dict[str, Any]) -> None:
    stored = {"s3://payloads/big.json": encode(test_payload)}
    event = {"Records": [{"body": json.dumps({"url": "s3://payloads/big.json"})}]}
    assert unwrap(event, stored.__getitem__) == [test_payload]


def test_batch_submit_job_result_reads_the_out_file(test_payload: dict[str, Any]) -> None:
    event = load("events/batch-result.json")
    out = batch_output_url(event["Parameters"]["url"])
    assert out.endswith("/7d3e_out.json")
    assert unwrap(event, {out: encode(test_payload)}.__getitem__) == [test_payload]
    event["Parameters"]["url_out"] = "s3://elsewhere/out.json"
    assert unwrap(event, {"s3://elsewhere/out.json": b"[]"}.__getitem__) == []


def test_batch_output_url() -> None:
    assert batch_output_url("s3://b/batch/a.json.d/x.json") == "s3://b/batch/a.json.d/x_out.json"
    assert batch_output_url("s3://b/x") == "s3://b/x_out" + ".json"


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({"Records": [{"body": "{not json"}]}, "input.Records[0].body is not valid JSON"),
        (
            {"Records": [{"Sns": {"Message": "[1, "}}]},
            "input.Records[0].Sns.Message is not valid JSON",
        ),
        (
            {"Records": [{"body": "42"}]},
            "input.Records[0].body must be a payload or an envelope object (got a number)",
        ),
        ([None], "input[0] must be a payload or an envelope object (got null)"),
        (
            {"url": "s3://nowhere/x.json"},
            "input.url 's3://nowhere/x.json' could not be read (KeyError",
        ),
    ],
)
def test_envelope_errors_say_where(event: Any, problem: str) -> None:
    with pytest.raises(PayloadError) as err:
        unwrap(event, {}.__getitem__)
    assert err.value.problems[0].startswith(problem)


def test_unknown_shapes_pass_through_for_validation_to_judge() -> None:
    assert unwrap({"id": "c/workflow-w/i"}) == [{"id": "c/workflow-w/i"}]


def test_load_a_file_a_list_and_json_lines(tmp_path: Path, test_payload: dict[str, Any]) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(test_payload, indent=2))
    assert load_payloads(one) == [test_payload]
    assert load_payloads(str(one)) == [test_payload]
    assert load_payloads(json.dumps([test_payload, test_payload])) == [test_payload] * 2
    lines = tmp_path / "many.jsonl"
    lines.write_text(
        json.dumps(test_payload)
        + "\n\n"
        + json.dumps({"Records": [{"body": json.dumps(test_payload)}]})
        + "\n"
    )
    assert load_payloads(lines) == [test_payload] * 2
    assert load_payloads(encode(test_payload)) == [test_payload]
    assert load_payloads(io.StringIO(json.dumps(test_payload))) == [test_payload]


def test_stdin(monkeypatch: pytest.MonkeyPatch, test_payload: dict[str, Any]) -> None:
    class FakeStdin:
        buffer = io.BytesIO(encode(test_payload))

    monkeypatch.setattr("sys.stdin", FakeStdin)
    (payload,) = parse_payloads("-")
    assert isinstance(payload, Payload)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(PayloadError) as err:
        load_payloads(tmp_path / "missing.json")
    assert str(err.value).startswith(f"{tmp_path / 'missing.json'}: cannot read the file")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"features": []}\n{oops\n')
    with pytest.raises(PayloadError) as err:
        load_payloads(bad)
    assert err.value.source == str(bad)
    assert err.value.problems[0].startswith("line 2 is not valid JSON")
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    with pytest.raises(PayloadError, match="the input is empty"):
        load_payloads(empty)


def test_parse_payloads_reports_problems_of_every_payload(
    tmp_path: Path, test_payload: dict[str, Any]
) -> None:
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([test_payload, {"features": []}, {"process": {}}]))
    with pytest.raises(PayloadError) as err:
        parse_payloads(path)
    assert err.value.source == str(path)
    assert err.value.problems == [
        "[1] process is required (an object with at least workflow)",
        "[2] features is required (a list of STAC items)",
        "[2] process.workflow is required",
    ]
    empty = tmp_path / "empty-list.json"
    empty.write_text("[]")
    with pytest.raises(PayloadError, match="no payload found"):
        parse_payloads(empty)
