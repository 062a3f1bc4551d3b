"""`cirro deployments` and `--deployment NAME` against the stack `cirro deploy` made on moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import cirro


def _add(deployed: dict[str, Any], name: str = "live") -> dict[str, Any]:
    result = cirro("deployments", "add", name, "--stack", deployed["stack"])
    assert f"added deployment {name}: stack shared-dev" in result.output
    shown = cirro("deployments", "show", name)
    return dict(json.loads(shown.output))


def test_add_reads_outputs_and_function_environment(
    deployed: dict[str, Any], config_dir: Path, aws: Any
) -> None:
    d = _add(deployed)
    outputs = aws("cloudformation").describe_stacks(StackName="shared-dev")["Stacks"][0]["Outputs"]
    by_key = {o["OutputKey"]: o["OutputValue"] for o in outputs}
    assert d["outputs"] == by_key
    env = d["environment"]
    assert env["CIRRUS_STATE_DB"] == by_key["StateTableName"]
    assert env["CIRRUS_PROCESS_QUEUE_URL"].endswith("/shared-dev-process")
    assert env["CIRRUS_PAYLOAD_BUCKET"] == by_key["PayloadBucketName"]
    assert "shared-dev-process" in d["functions"]
    assert (config_dir / "cirrostratus" / "deployments.json").is_file()
    assert "live\tshared-dev\tus-west-2" in cirro("deployments", "list").output
    cirro("deployments", "remove", "live")
    assert "no deployments yet" in cirro("deployments", "list").output
    unknown = cirro("query", "--deployment", "live", code=None)
    assert "no deployment named 'live'" in str(unknown.exception)
    assert getattr(unknown.exception, "exit_code", None) == 2  # a usage error


def test_add_refuses_a_stack_that_is_not_cirrus(config_dir: Path, aws: Any) -> None:
    body = '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}'
    aws("cloudformation").create_stack(StackName="plain", TemplateBody=body)
    result = cirro("deployments", "add", "p", "--stack", "plain", code=1)
    assert "does not look like a Cirrus deployment" in str(result.exception)
    missing = cirro("deployments", "add", "p", "--stack", "nope", code=1)
    assert "stack nope" in str(missing.exception)


def test_submit_lands_in_the_process_queue(
    deployed: dict[str, Any], config_dir: Path, aws: Any, tmp_path: Path
) -> None:
    d = _add(deployed)
    payload = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": "sub-1", "collection": "c1", "properties": {}}],
        "process": [{"workflow": "publish-only", "upload_options": {}}],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(payload))
    result = cirro("submit", "--deployment", "live", str(path))
    assert "sent 1 payload to deployment live" in result.output
    sqs = aws("sqs")
    url = d["environment"]["CIRRUS_PROCESS_QUEUE_URL"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    bodies = [json.loads(m["Body"]) for m in got.get("Messages", [])]
    assert payload in bodies


def test_query_and_state_read_cirrus_schema_records(
    deployed: dict[str, Any], config_dir: Path, aws: Any
) -> None:
    from cirrostratus.state.dynamodb import DynamoStateStore

    d = _add(deployed)
    store = DynamoStateStore(d["environment"]["CIRRUS_STATE_DB"])
    pid = "c9/workflow-publish-only/q-1"
    arn = "arn:aws:states:us-west-2:123456789012:execution:sm:e1"
    store.claim(pid, arn)
    store.start(pid, arn)
    store.fail(pid, "Boom: it broke", arn)
    # the item is in Cirrus's schema: collections_workflow / itemids keys
    item = aws("dynamodb").get_item(
        TableName=d["environment"]["CIRRUS_STATE_DB"],
        Key={"collections_workflow": {"S": "c9_publish-only"}, "itemids": {"S": "q-1"}},
    )["Item"]
    assert item["state_updated"]["S"].startswith("FAILED_")
    listed = cirro("query", "--deployment", "live", "--collections", "c9", "--json")
    found = json.loads(listed.output)
    assert [r["payload_id"] for r in found["items"]] == [pid]
    assert found["counts"]["FAILED"] == 1
    state = cirro("payload", "state", "--deployment", "live", pid)
    assert "state:    FAILED" in state.output and "Boom: it broke" in state.output
