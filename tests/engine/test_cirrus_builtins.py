"""Cirrus 0.9's built-in Batch resources, locally: a workflow that runs a lambda's code as a
Batch job (`#{LambdaAsBatchJob}` on `#{BasicOnDemandJobQueue}`) through pre- and post-batch."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.engine.local import LocalEngine

from .conftest import make_payload

CIRRO = [sys.executable, "-m", "cirrostratus"]

LAMBDA_AS_BATCH = """\
name: enginetest-dev-{name}
definition:
  StartAt: pre-batch
  States:
    pre-batch:
      Type: Task
      Resource: !GetAtt pre-batch.Arn
      Next: batch-job
    batch-job:
      Type: Task
      Resource: arn:aws:states:::batch:submitJob.sync
      Parameters:
        JobName: marker
        JobQueue: "#{{{queue}}}"
        JobDefinition: "#{{{job}}}"
        Parameters:
          lambda_function: "#{{AWS::StackName}}-marker"
          url.$: $.url
      Next: post-batch
{retry}      Catch:
        - ErrorEquals: ["States.ALL"]
          ResultPath: $.error
          Next: post-batch
    post-batch:
      Type: Task
      Resource: !GetAtt post-batch.Arn
      Next: publish
    publish:
      Type: Task
      Resource: !GetAtt publish.Arn
      End: true
"""

MARKER_TASK = """\
import os


def lambda_handler(payload, context=None):
    for item in payload["features"]:
        item["properties"]["batch_pid"] = os.getpid()
        item["properties"]["job_id"] = os.environ.get("AWS_BATCH_JOB_ID")
    return payload
"""

MARKER_DEFINITION = """\
description: stamps each item with the process and Batch job that ran it
lambda:
  handler: lambda_function.lambda_handler
"""


def add_workflow(project: Path, name: str, *, job: str, queue: str, retry: str = "") -> None:
    task = project / "tasks" / "marker"
    task.mkdir(parents=True, exist_ok=True)
    (task / "definition.yml").write_text(MARKER_DEFINITION)
    (task / "lambda_function.py").write_text(MARKER_TASK)
    (task / "README.md").write_text("# marker\n")
    folder = project / "workflows" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "definition.yml").write_text(
        LAMBDA_AS_BATCH.format(name=name, job=job, queue=queue, retry=retry)
    )
    (folder / "README.md").write_text(f"# {name}\n")


def cirro(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CIRRO, "--project", str(project), *args], capture_output=True, text=True, timeout=300
    )


def run_json(project: Path, payload: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))
    done = cirro(project, "run", "--json", str(path))
    assert done.returncode in (0, 1), done.stderr
    record: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])["payloads"][0]
    return record


@pytest.mark.parametrize("job", ["LambdaAsBatchJob", "GeoLambdaAsBatchJob"])
def test_lambda_as_batch_job_runs_the_named_lambda(project: Path, tmp_path: Path, job: str) -> None:
    add_workflow(project, "lambda-batch", job=job, queue="BasicOnDemandJobQueue")
    check = cirro(project, "validate")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "is not a CloudFormation resource" not in check.stdout + check.stderr

    record = run_json(project, make_payload("lambda-batch", "lb1"), tmp_path)
    assert record["state"] == "COMPLETED", record
    item_path = project / ".cirro/data/test-collection/2024/7/lb1/lb1.json"
    props = json.loads(item_path.read_text())["properties"]
    # the handler ran as a Batch job: in another process, with the job's environment
    assert isinstance(props["batch_pid"], int) and props["job_id"]


SPOT_SETTINGS = """
custom:
  cirro:
    batch:
      local:
        spot_interruption_rate: 1.0
        spot_interruption_limit: 1
"""

RETRY_ON_TASK_FAILED = """\
      Retry:
        - ErrorEquals: ["States.TaskFailed"]
          IntervalSeconds: 1
          MaxAttempts: 2
"""


def test_spot_interruption_is_caught_by_the_workflows_retry(project: Path, tmp_path: Path) -> None:
    with (project / "cirrus.yml").open("a") as config:
        config.write(SPOT_SETTINGS)
    add_workflow(
        project,
        "spot-retry",
        job="LambdaAsBatchJob",
        queue="BasicSpotJobQueue",
        retry=RETRY_ON_TASK_FAILED,
    )
    assert cirro(project, "validate").returncode == 0

    record = run_json(project, make_payload("spot-retry", "s1"), tmp_path)
    assert record["state"] == "COMPLETED", record
    logs = [p.read_text() for p in (project / ".cirro/logs/batch").rglob("*") if p.is_file()]
    interrupted = [text for text in logs if "terminated." in text]
    assert len(interrupted) == 1  # the first job lost its host; the retried one ran
    assert interrupted[0].splitlines()[-1].startswith("Host EC2 (instance i-")


def test_spot_interruption_without_retry_fails_the_payload(project: Path, tmp_path: Path) -> None:
    with (project / "cirrus.yml").open("a") as config:
        config.write(SPOT_SETTINGS)
    add_workflow(project, "spot-once", job="LambdaAsBatchJob", queue="BasicSpotJobQueue")
    record = run_json(project, make_payload("spot-once", "s2"), tmp_path)
    assert record["state"] == "FAILED"
    assert re.search(r"Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.", record["error"])


def test_process_function_queues_the_event_for_the_engine(project: Path, tmp_path: Path) -> None:
    """Cirrus's process lambda takes SQS/SNS envelopes; locally it hands them to the intake."""
    payload = make_payload("mirror", "via-process")
    message = json.dumps({"Type": "Notification", "Message": json.dumps(payload)})
    event = {"Records": [{"eventSource": "aws:sqs", "body": message}]}
    (tmp_path / "event.json").write_text(json.dumps(event))
    done = cirro(project, "task", "run", "process", str(tmp_path / "event.json"))
    assert done.returncode == 0, done.stderr
    pid = "test-collection/workflow-mirror/via-process"
    assert json.loads(done.stdout) == {"queued": 1, "payload_ids": [pid]}

    engine = LocalEngine.open(project)
    try:
        report = asyncio.run(engine.drain_queued())
    finally:
        engine.close()
    assert [r.state for r in report.records.values()] == ["COMPLETED"]
    assert (project / ".cirro/data/test-collection/2024/7/via-process/via-process.json").is_file()


def test_feed_rerun_queues_failed_payloads_from_cirrus_event(project: Path, tmp_path: Path) -> None:
    engine = LocalEngine.open(project)
    try:
        report = asyncio.run(
            engine.run([make_payload("crash", "c1"), make_payload("mirror", "m1")])
        )
    finally:
        engine.close()
    assert sorted(r.state for r in report.records.values()) == ["COMPLETED", "FAILED"]
    event = {"collections": "test-collection", "workflow": "crash", "state": "FAILED", "limit": 10}
    (tmp_path / "event.json").write_text(json.dumps(event))
    done = cirro(project, "feed", "feed-rerun", str(tmp_path / "event.json"))
    assert done.returncode == 0, done.stderr
    pid = "test-collection/workflow-crash/c1"
    assert json.loads(done.stdout) == {"queued": 1, "payload_ids": [pid], "skipped": []}

    engine = LocalEngine.open(project)
    try:
        asyncio.run(engine.drain_queued())
        record = engine.store.get(pid)
    finally:
        engine.close()
    assert record is not None and len(record.executions) == 2  # it ran again


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("update-state", "the engine records each execution's outcome"),
        ("api", "cirro query"),
    ],
)
def test_engine_parts_say_what_does_their_work(
    project: Path, tmp_path: Path, name: str, says: str
) -> None:
    (tmp_path / "event.json").write_text(json.dumps({"path": "/stats"}))
    done = cirro(project, "task", "run", name, str(tmp_path / "event.json"))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: NotImplementedError: ") and says in last


def test_feed_names_only_feeders(project: Path, tmp_path: Path) -> None:
    (tmp_path / "event.json").write_text("{}")
    done = cirro(project, "feed", "process", str(tmp_path / "event.json"))
    assert done.returncode == 2
    assert "no feeder named 'process'; known: " in done.stderr
    assert "feed-rerun" in done.stderr
