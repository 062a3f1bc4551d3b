"""`cirro serve --aws local`: a boto3 task writes the state table while the engine serves and
sends a payload to the ProcessQueue, which the engine runs; a clean stop saves the table, and
the next engine's tasks read what the first one wrote."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cirrostratus.engine.local import LocalEngine
from cirrostratus.state import SqliteStateStore

CIRRO = [sys.executable, "-m", "cirrostratus"]

CIRRUS_YML = """\
service: tally
provider:
  name: aws
  stage: dev
  region: us-west-2
  environment:
    CIRRUS_STATE_DB: !Ref StateTable
"""

# counts the payloads it has seen in the state table (an item of its own) and says so
TALLY = """\
import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["CIRRUS_STATE_DB"])


def lambda_handler(event, context):
    feed = event["process"]["tasks"].get("tally", {}).get("feed")
    if feed:  # what a feeder does: a new payload to Cirrus's process queue
        new_payload = {**event, "id": None, "process": {**event["process"], "tasks": {}}}
        new_payload.pop("id")
        new_payload["features"] = [{**event["features"][0], "id": feed}]
        boto3.client("sqs").send_message(
            QueueUrl=os.environ["CIRRUS_PROCESS_QUEUE_URL"], MessageBody=json.dumps(new_payload)
        )
    key = {"collections_workflow": "tally", "itemids": "count"}
    new = table.update_item(
        Key=key, UpdateExpression="ADD seen :one", ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]["seen"]
    for item in event["features"]:
        item["properties"]["seen"] = int(new)
    return event
"""

WORKFLOW = {
    "name": "tally-dev-tally",
    "definition": {
        "StartAt": "tally",
        "States": {
            "tally": {"Type": "Task", "Resource": {"Fn::GetAtt": ["tally", "Arn"]}, "End": True}
        },
    },
}


def make_project(root: Path) -> Path:
    (root / "tasks" / "tally").mkdir(parents=True)
    (root / "workflows" / "tally").mkdir(parents=True)
    (root / "cirrus.yml").write_text(CIRRUS_YML)
    task = root / "tasks" / "tally"
    (task / "definition.yml").write_text(
        "description: counts payloads in DynamoDB\nlambda:\n  handler: lambda_function.lambda_handler\n"
        "  timeout: 60\n"
    )
    (task / "lambda_function.py").write_text(TALLY)
    (task / "README.md").write_text("# tally\n")
    (root / "workflows" / "tally" / "definition.yml").write_text(json.dumps(WORKFLOW))
    return root


def payload(item_id: str, feed: str | None = None) -> dict[str, Any]:
    tasks = {"tally": {"feed": feed}} if feed else {}
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": item_id, "collection": "c", "properties": {}}],
        "process": {"workflow": "tally", "upload_options": {}, "tasks": tasks},
    }


def serve_until(project: Path, done: int) -> str:
    """Serve with --aws local until `done` payloads are COMPLETED, then stop with SIGTERM."""
    proc = subprocess.Popen(
        [*CIRRO, "--project", str(project), "serve", "--aws", "local", "--no-task-envs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and completed(project) < done:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert completed(project) == done, err[-3000:]
    return err


def completed(project: Path) -> int:
    db = project / ".cirro" / "state.db"
    if not db.exists():
        return 0
    store = SqliteStateStore(db)
    try:
        return int(store.counts().get("COMPLETED", 0))
    finally:
        store.close()


def seen(project: Path, item_id: str) -> int:
    engine = LocalEngine.open(project)
    try:
        out = engine.payloads.get_json(f"c/workflow-tally/{item_id}/output.json")
    finally:
        engine.close()
    return int(out["features"][0]["properties"]["seen"])


def test_serve_keeps_the_table_across_engines(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    engine = LocalEngine.open(project)
    engine.submit([payload("a", feed="fed"), payload("b")])
    engine.close()
    # "a" sent a third payload to the ProcessQueue: the serving engine took it in and ran it
    err = serve_until(project, 3)
    assert "local AWS at http://127.0.0.1:" in err
    assert seen(project, "fed") in (2, 3)
    snapshot = json.loads((project / ".cirro/aws/dynamodb/tally-dev-state.json").read_text())
    assert snapshot["items"][0]["seen"] == {"N": "3"}

    engine = LocalEngine.open(project)
    engine.submit([payload("c")])
    engine.close()
    serve_until(project, 4)
    assert seen(project, "c") == 4  # the second engine's task counted on from the first's


def test_run_keeps_what_tasks_left_in_the_process_queue(tmp_path: Path) -> None:
    """`cirro run` runs its own payloads and stops; the one its task sent to the ProcessQueue
    is not lost with moto's queue but waits in the intake, and the next run takes it."""
    project = make_project(tmp_path / "project")
    (tmp_path / "a.json").write_text(json.dumps(payload("a", feed="fed")))
    cmd = [*CIRRO, "--project", str(project), "run", "--aws", "local", "--no-task-envs", "-q"]
    first = subprocess.run([*cmd, str(tmp_path / "a.json")], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "1 message(s) tasks sent to the ProcessQueue wait in the intake" in first.stderr
    engine = LocalEngine.open(project)
    try:
        assert engine.intake.waiting_count() == 1
    finally:
        engine.close()
    (tmp_path / "b.json").write_text(json.dumps(payload("b")))
    second = subprocess.run([*cmd, str(tmp_path / "b.json")], capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert completed(project) == 3  # a, b and the fed one the intake handed out first
