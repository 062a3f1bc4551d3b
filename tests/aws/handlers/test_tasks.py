"""pre_batch, post_batch and publish handlers on a moto deployment."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest

from cirrostratus.aws.handlers import env, post_batch, pre_batch, publish
from cirrostratus.payload import Payload


def test_pre_batch_stores_the_payload_and_post_batch_reads_the_answer(
    deployment: Any, make_payload: Any
) -> None:
    data = make_payload(item="a")
    out = pre_batch.lambda_handler(data, None)
    prefix = f"s3://{deployment.payload_bucket}/batch/c1/workflow-wf1/a/"
    assert out["url"].startswith(prefix) and out["url"].endswith(".json")
    assert out["url_out"] == out["url"][: -len(".json")] + "_out.json"
    s3 = deployment.client("s3")
    key = out["url"].split("/", 3)[3]
    stored = s3.get_object(Bucket=deployment.payload_bucket, Key=key)["Body"].read()
    assert json.loads(stored) == data
    answer = {**data, "note": "from the job"}
    s3.put_object(
        Bucket=deployment.payload_bucket,
        Key=key[: -len(".json")] + "_out.json",
        Body=json.dumps(answer).encode(),
    )
    result = post_batch.lambda_handler({"Parameters": {"url": out["url"]}}, None)
    assert result["note"] == "from the job"


def test_post_batch_raises_the_jobs_own_error_from_its_log_stream(deployment: Any) -> None:
    logs = deployment.client("logs")
    stream = "geolambda-as-batch/default/abc123"
    now = int(time.time() * 1000)  # CloudWatch drops events older than 14 days
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName="/aws/batch/job")
    logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName=stream)
    logs.put_log_events(
        logGroupName="/aws/batch/job",
        logStreamName=stream,
        logEvents=[
            {"timestamp": now, "message": "starting"},
            {"timestamp": now + 1, "message": "InvalidInput: no granules in scene"},
        ],
    )
    cause = {"Attempts": [{"Container": {"LogStreamName": stream}}], "StatusReason": "x"}
    event = {"error": {"Error": "States.TaskFailed", "Cause": json.dumps(cause)}}
    with pytest.raises(Exception) as caught:
        post_batch.lambda_handler(event, None)
    assert type(caught.value).__name__ == "InvalidInput", repr(caught.value)
    assert str(caught.value) == "no granules in scene"
    missing = {"error": {"Error": "States.TaskFailed", "Cause": "not json"}}
    with pytest.raises(Exception, match="Unable to get error log"):
        post_batch.lambda_handler(missing, None)


def test_publish_writes_items_to_s3_announces_them_and_sets_outputs(
    deployment: Any, make_payload: Any
) -> None:
    data = make_payload(item="a", upload_options={"path_template": "${collection}/${year}"})
    pid = Payload.from_dict(data).id
    states = env.state_store()
    states.claim_and_start(pid, "arn:aws:states:us-east-1:123456789012:execution:x:1")
    result = publish.lambda_handler(data, None)
    url = f"s3://{deployment.data_bucket}/c1/2024/a.json"
    links = result["features"][0]["links"]
    assert links[:2] == [
        {"rel": "self", "href": url, "type": "application/json"},
        {"rel": "canonical", "href": url, "type": "application/json"},
    ]
    obj = deployment.client("s3").get_object(Bucket=deployment.data_bucket, Key="c1/2024/a.json")
    stored = json.loads(obj["Body"].read())
    assert obj["ContentType"] == "application/json"
    assert stored["id"] == "a" and stored["properties"]["created"]
    (note,) = deployment.received("publish")
    assert json.loads(note["Message"])["id"] == "a"
    attrs = {k: v["Value"] for k, v in note["MessageAttributes"].items()}
    assert attrs["collection"] == "c1" and attrs["status"] == "created"
    assert float(attrs["bbox.ll_lon"]) == 10.0 and float(attrs["bbox.ur_lat"]) == 21.0
    assert attrs["datetime"] == "2024-05-06T00:00:00Z" and float(attrs["cloud_cover"]) == 12.5
    assert note["MessageAttributes"]["bbox.ll_lon"]["Type"] == "Number"
    rec = states.get(pid)
    assert rec is not None and rec.outputs == (url,) and str(rec.state) == "PROCESSING"
    # published again: `created` is kept, so the status is now "updated"
    publish.lambda_handler(data, None)
    (again,) = deployment.received("publish")
    assert again["MessageAttributes"]["status"]["Value"] == "updated"


def test_publish_names_a_missing_path_template(deployment: Any, make_payload: Any) -> None:
    with pytest.raises(Exception, match=r"publish: failed publishing output items.*path_template"):
        publish.lambda_handler(make_payload(item="a"), None)


def test_item_attributes_keep_to_cirrus_names() -> None:
    item = {
        "collection": "c",
        "bbox": [0, 1, 5, 2, 3, 9],
        "properties": {"start_datetime": "s", "end_datetime": "e", "created": "t", "updated": "u"},
    }
    assert publish.item_attributes(item) == {
        "collection": "c",
        "bbox.ll_lon": 0,
        "bbox.ll_lat": 1,
        "bbox.ur_lon": 2,
        "bbox.ur_lat": 3,
        "start_datetime": "s",
        "end_datetime": "e",
        "status": "updated",
    }


def test_publish_public_gives_https_links_and_a_public_object(
    deployment: Any, make_payload: Any
) -> None:
    data = make_payload(
        item="p",
        upload_options={"path_template": "${collection}"},
        tasks={"publish": {"public": True}},
    )
    result = publish.lambda_handler(data, None)
    https = f"https://{deployment.data_bucket}.s3.amazonaws.com/c1/p.json"
    assert [ln["href"] for ln in result["features"][0]["links"][:2]] == [https, https]
    s3 = deployment.client("s3")
    stored = json.loads(
        s3.get_object(Bucket=deployment.data_bucket, Key="c1/p.json")["Body"].read()
    )
    assert stored["links"][0]["href"] == https
    grants = s3.get_object_acl(Bucket=deployment.data_bucket, Key="c1/p.json")["Grants"]
    assert any(
        g["Grantee"].get("URI", "").endswith("/global/AllUsers") and g["Permission"] == "READ"
        for g in grants
    )
