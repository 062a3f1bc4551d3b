"""The real Cirrus 0.9 builtins and a cirrus-lib 0.8.1 task, unchanged, under `--aws local`.

One workflow: a cirrus-lib task (its 40 KB output leaves as `{"url": s3://…}`) → Cirrus's
pre-batch → `#{LambdaAsBatchJob}` on `#{BasicOnDemandJobQueue}` → post-batch → publish (S3,
SNS, the DynamoDB state table). Then the engine is started again: what the tasks wrote is
still there for the tasks (publish keeps the item's `created`) and for the commands.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import big_payload

CIRRO = [sys.executable, "-m", "cirrostratus"]
PAYLOAD_ID = "sentinel-2/workflow-cirrus-real/item-a"
RERUN_INVALID = ("--aws", "local", "--state", "invalid", "--json")


def cirro(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CIRRO, "--project", str(project), *args], capture_output=True, text=True, timeout=280
    )


def run(project: Path, *args: str) -> tuple[dict[str, Any], str]:
    path = project / "payload.json"
    path.write_text(json.dumps(big_payload("item-a")))
    done = cirro(project, "run", "--json", "--no-task-envs", *args, str(path))
    assert done.returncode in (0, 1), done.stderr[-3000:]
    record: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])["payloads"][0]
    assert record["state"] == "COMPLETED", (record, done.stderr[-4000:])
    return record, done.stderr


def item_file(project: Path) -> Path:
    return project / ".cirro/data/sentinel-2/2024/item-a/item-a.json"


def table_items(project: Path) -> list[dict[str, Any]]:
    data = json.loads((project / ".cirro/aws/dynamodb/cirrus-dev-state.json").read_text())
    items: list[dict[str, Any]] = data["items"]
    return items


@pytest.fixture(scope="module")
def first_records(cirrus_project: Path) -> dict[str, dict[str, Any]]:
    """One `cirro run --aws local` of two 40 KB payloads: one completes, one's Batch job fails."""
    assert len(json.dumps(big_payload("item-a"))) > 40_000
    path = cirrus_project / "first.json"
    path.write_text(json.dumps([big_payload("item-a"), big_payload("item-bad", fail=True)]))
    done = cirro(cirrus_project, "run", "--json", "--no-task-envs", "--aws", "local", str(path))
    assert done.returncode == 1, done.stderr[-3000:]  # not every payload COMPLETED
    records = json.loads(done.stdout.strip().splitlines()[-1])["payloads"]
    return {r["payload_id"]: r for r in records}


@pytest.fixture(scope="module")
def first_run(cirrus_project: Path, first_records: dict[str, dict[str, Any]]) -> Path:
    assert first_records[PAYLOAD_ID]["state"] == "COMPLETED", first_records
    return cirrus_project


def test_real_cirrus_workflow_completes_with_a_40kb_payload(first_run: Path) -> None:
    project = first_run
    item = json.loads(item_file(project).read_text())  # published by Cirrus's publish, a file
    props = item["properties"]
    # the cirrus-lib task saw its deployed name; the Batch job ran the stamp lambda's code
    assert props["cirrus_lib_task"] == "cirrus-dev-lib-task"
    assert props["batch_job"]
    assert props["created"] == props["updated"]
    assert item["links"][0] == {
        "rel": "self",
        "href": "s3://cirrus-dev-data/sentinel-2/2024/item-a/item-a.json",
        "type": "application/json",
    }
    # cirrus-lib moved the 40 KB payload to the payload bucket (kept in .cirro/payloads)
    moved = list((project / ".cirro/payloads/payloads").glob("*.json"))
    assert PAYLOAD_ID in {json.loads(p.read_text())["id"] for p in moved}
    batch = list((project / ".cirro/payloads/batch").rglob("*_out.json"))
    assert len(batch) == 1  # Cirrus's batch convention: <url>_out.json, read by post-batch
    # publish called set_outputs on the DynamoDB state table: saved when the engine closed
    (row,) = table_items(project)
    assert row["collections_workflow"] == {"S": "sentinel-2_cirrus-real"}
    assert row["outputs"] == {"L": [{"S": item["links"][0]["href"]}]}


def test_the_engine_records_the_claim_checked_output(first_run: Path) -> None:
    project = first_run
    state = cirro(project, "payload", "state", PAYLOAD_ID)  # no --aws: plain folders
    assert state.returncode == 0, state.stderr
    assert "COMPLETED" in state.stdout
    assert "s3://cirrus-dev-data/sentinel-2/2024/item-a/item-a.json" in state.stdout
    output = cirro(project, "payload", "get", "--output", PAYLOAD_ID)
    assert output.returncode == 0, output.stderr
    payload = json.loads(output.stdout)  # the payload behind publish's {"url"}, not the url
    assert payload["id"] == PAYLOAD_ID
    assert payload["features"][0]["properties"]["batch_job"]


def test_a_second_engine_finds_what_the_first_wrote(first_run: Path) -> None:
    project = first_run
    before = json.loads(item_file(project).read_text())["properties"]
    row_before = table_items(project)[0]
    _, stderr = run(project, "--aws", "local", "--replace")
    after = json.loads(item_file(project).read_text())["properties"]
    # publish read the item published by the first engine from the local S3: `created` kept
    assert after["created"] == before["created"]
    assert after["updated"] > before["updated"]
    # the table was restored, then saved again: the record's `created` is the first run's
    (row,) = table_items(project)
    assert row["created"] == row_before["created"]
    assert row["updated"] != row_before["updated"]
    assert "local AWS at http://127.0.0.1:" not in stderr  # --json: nothing but the report


def test_post_batch_reads_a_failed_jobs_error_from_cloudwatch_logs(
    first_records: dict[str, dict[str, Any]],
) -> None:
    record = first_records["sentinel-2/workflow-cirrus-real/item-bad"]
    # Cirrus's post-batch found the job's last log line in /aws/batch/job and raised it
    assert record["state"] == "INVALID", record
    assert record["error"] == "InvalidInput: the stamp task refuses this scene"


def test_rerun_runs_the_stored_input_under_the_local_aws_again(first_run: Path) -> None:
    project = first_run
    query = cirro(project, "query", "--state", "invalid", "--json")
    assert query.returncode == 0, query.stderr
    ids = [r["payload_id"] for r in json.loads(query.stdout)["items"]]
    assert ids == ["sentinel-2/workflow-cirrus-real/item-bad"]
    env = {**os.environ, "CIRRO_TASK_ENVS": "0"}  # what --no-task-envs sets
    done = subprocess.run(
        [*CIRRO, "--project", str(project), "rerun", *RERUN_INVALID],
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    (record,) = json.loads(done.stdout)["payloads"]
    # the same stored 40 KB input through the same real tasks: the Batch job refuses it again
    assert record["payload_id"] == ids[0]
    assert record["error"] == "InvalidInput: the stamp task refuses this scene"
