"""`cirro payload logs --deployment` on moto: real executions of a workflow (moto's Step
Functions interpreter calling its Docker-less Lambdas) give the windows; log events put
inside and outside them, for this payload and another, show that exactly the right lines
are printed. The Batch part: moto's interpreter cannot run `batch:submitJob.sync`, so that
test gives an execution history in the shape AWS writes, naming a job moto's Batch ran."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from ..conftest import cirro
from .conftest import STACK


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _execute(session: Any, machine: str, payload_id: str, name: str) -> dict[str, Any]:
    sfn = session.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, name=name,
                              input=json.dumps({"id": payload_id}))["executionArn"]  # fmt: skip
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "moto's execution did not end"
        time.sleep(0.05)
    return dict(described)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _put(logs: Any, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": t, "message": m} for t, m in events])  # fmt: skip


def test_lambda_lines_of_the_payload_within_each_execution(
    mgmt: dict[str, Any], mgmt_session: Any
) -> None:
    from cirrostratus.state.dynamodb import DynamoStateStore

    pid, other = "c1/workflow-wf/item-1", "c1/workflow-wf/item-2"
    first = _execute(mgmt_session, mgmt["machine"], pid, "logs-1")
    time.sleep(0.05)  # a gap between the two windows
    second = _execute(mgmt_session, mgmt["machine"], pid, "logs-2")
    assert first["status"] == second["status"] == "SUCCEEDED"
    store = DynamoStateStore(mgmt["table"], client=mgmt_session.client("dynamodb"))
    for described in (first, second):  # the first recorded as failed, the second as a rerun
        store.claim(pid, described["executionArn"], replace=True)
        store.start(pid, described["executionArn"])
        if described is first:
            store.fail(pid, "Boom: it broke", described["executionArn"])
    store.complete(pid, [], second["executionArn"])

    s1, e1 = _ms(first["startDate"]), _ms(first["stopDate"])
    s2, e2 = _ms(second["startDate"]), _ms(second["stopDate"])
    m1, m2 = (s1 + e1) // 2, (s2 + e2) // 2
    logs = mgmt_session.client("logs")
    stream_a = "2026/11/30/[$LATEST]aaaa"
    _put(logs, f"/aws/lambda/{STACK}-task-a", stream_a, [
        (s1 - 60_000, f"[{pid} r0] an older run, before both windows"),
        (m1, f"[{pid} r1] task a, first execution"),
        (m1, f"[{other} r2] task a, another payload"),
        ((e1 + s2) // 2, f"[{pid} r3] between the two executions"),
        (m2, f"[{pid} r4] task a, second execution"),
        (e2 + 60_000, f"[{pid} r5] after both windows"),
    ])  # fmt: skip
    json_line = json.dumps({"message": "task b read 1 item", "id": pid, "levelname": "INFO"})
    _put(logs, f"/aws/lambda/{STACK}-task-b", "2026/11/30/[$LATEST]bbbb", [
        (m2, json_line),
        (m2, json.dumps({"message": "not ours", "id": other})),
    ])  # fmt: skip

    text = cirro("payload", "logs", "--deployment", "mgmt", pid).output.splitlines()
    a, b, c = (f"/aws/lambda/{STACK}-task-{x}" for x in "abc")
    assert text == [
        f"== execution 1 of 2: {first['executionArn']}  SUCCEEDED  {_iso(s1)} → {_iso(e1)}",
        f"-- lambda {STACK}-task-a  ({a})",
        f"{_iso(m1)} [{stream_a}] [{pid} r1] task a, first execution",
        f"-- lambda {STACK}-task-b  ({b})",
        "   (no lines naming this payload while the execution ran)",
        f"-- lambda {STACK}-task-c  ({c})",
        f"   (log group {c} does not exist)",
        f"== execution 2 of 2: {second['executionArn']}  SUCCEEDED  {_iso(s2)} → {_iso(e2)}",
        f"-- lambda {STACK}-task-a  ({a})",
        f"{_iso(m2)} [{stream_a}] [{pid} r4] task a, second execution",
        f"-- lambda {STACK}-task-b  ({b})",
        f"{_iso(m2)} [2026/11/30/[$LATEST]bbbb] {json_line}",
        f"-- lambda {STACK}-task-c  ({c})",
        f"   (log group {c} does not exist)",
    ]
    rows = cirro("payload", "logs", pid, "--json", "--deployment", "mgmt").output.splitlines()
    got = [json.loads(r) for r in rows]
    assert [(r["execution"], r["task"], r["message"]) for r in got] == [
        (first["executionArn"], f"{STACK}-task-a", f"[{pid} r1] task a, first execution"),
        (second["executionArn"], f"{STACK}-task-a", f"[{pid} r4] task a, second execution"),
        (second["executionArn"], f"{STACK}-task-b", json_line),
    ]
    missing = cirro("payload", "logs", "--deployment", "mgmt", "c1/workflow-wf/none", code=1)
    assert "no payload with id 'c1/workflow-wf/none'" in str(missing.exception)


def test_batch_job_stream_from_the_execution_history(
    mgmt: dict[str, Any], mgmt_session: Any
) -> None:
    from cirrostratus.aws import cwlogs

    batch = mgmt_session.client("batch")
    env = batch.create_compute_environment(computeEnvironmentName="mgmt-ce", type="UNMANAGED",
                                           state="ENABLED", serviceRole=mgmt["role"])  # fmt: skip
    queue = batch.create_job_queue(jobQueueName="mgmt-q", state="ENABLED", priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}])  # fmt: skip
    definition = batch.register_job_definition(jobDefinitionName="mgmt-jd", type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128})  # fmt: skip
    job = batch.submit_job(jobName="mgmt-job", jobQueue=queue["jobQueueArn"],
                           jobDefinition=definition["jobDefinitionArn"])  # fmt: skip
    deadline = time.monotonic() + 30
    while not (described := batch.describe_jobs(jobs=[job["jobId"]])["jobs"][0])["container"].get(
        "logStreamName"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stream = described["container"]["logStreamName"]
    # what Step Functions records for a submitJob.sync state (PascalCase, as AWS writes it)
    history = [
        {"type": "TaskSubmitted", "taskSubmittedEventDetails": {"resourceType": "batch",
         "resource": "submitJob.sync", "output": json.dumps({"JobId": job["jobId"],
                                                             "JobName": "mgmt-job"})}},
        {"type": "TaskSucceeded", "taskSucceededEventDetails": {"resourceType": "lambda",
         "resource": "invoke", "output": json.dumps({"JobId": "not-a-batch-job"})}},
    ]  # fmt: skip
    jobs = cwlogs.batch_jobs(history)
    assert jobs == [(job["jobId"], "mgmt-job", "")]
    (source,) = cwlogs._batch_sources(mgmt_session, jobs)
    assert (source.kind, source.group, source.stream) == ("batch", "/aws/batch/job", stream)
    assert source.name == f"mgmt-job {job['jobId']}"

    now = int(time.time() * 1000)
    logs = mgmt_session.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName="/aws/batch/job")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName=stream)
    logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName="other-job/default/1")
    logs.put_log_events(logGroupName="/aws/batch/job", logStreamName=stream, logEvents=[
        {"timestamp": now - 5_000, "message": "downloading assets"},
        {"timestamp": now - 4_000, "message": "ValueError: bad band"},
        {"timestamp": now + 60_000, "message": "a later attempt"},
    ])  # fmt: skip
    logs.put_log_events(logGroupName="/aws/batch/job", logStreamName="other-job/default/1",
                        logEvents=[{"timestamp": now - 4_500, "message": "another job"}])  # fmt: skip
    win = cwlogs.Window("arn:exec", "FAILED", now - 10_000, now)
    found = cwlogs.read(logs, source, win, "any/workflow-x/id")
    assert [(line.time_ms, line.message) for line in found.lines] == [
        (now - 5_000, "downloading assets"),
        (now - 4_000, "ValueError: bad band"),
    ]
    gone = cwlogs.read(logs, cwlogs.Source("batch", "j", "/aws/batch/job", "no/such/stream"),
                       win, "p")  # fmt: skip
    assert gone.lines == [] and "does not exist" in gone.missing


def test_lambda_functions_of_a_definition() -> None:
    from cirrostratus.aws.cwlogs import lambda_functions

    fn = "arn:aws:lambda:us-west-2:1:function:{}"
    definition = {"States": {
        "a": {"Type": "Task", "Resource": fn.format("s-dev-a")},
        "b": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"FunctionName": fn.format("s-dev-b") + ":live"}},
        "p": {"Type": "Parallel", "Branches": [{"States": {
            "c": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                  "Parameters": {"FunctionName": "s-dev-c"}}}}]},
        "m": {"Type": "Map", "ItemProcessor": {"States": {
            "d": {"Type": "Task", "Resource": fn.format("s-dev-d") + ":3"},
            "e": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName.$": "$.fn"}}}}},
        "j": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync"},
        "again": {"Type": "Task", "Resource": fn.format("s-dev-a")},
    }}  # fmt: skip
    assert lambda_functions(definition) == ["s-dev-a", "s-dev-b", "s-dev-c", "s-dev-d"]


def test_get_execution_describes_the_latest_execution(
    mgmt: dict[str, Any], mgmt_session: Any
) -> None:
    from cirrostratus.state.dynamodb import DynamoStateStore

    pid = "c2/workflow-wf/item-9"
    described = _execute(mgmt_session, mgmt["machine"], pid, "get-1")
    store = DynamoStateStore(mgmt["table"], client=mgmt_session.client("dynamodb"))
    store.claim(pid, described["executionArn"])
    store.start(pid, described["executionArn"])
    got = json.loads(cirro("payload", "get", "--deployment", "mgmt", "--execution", pid).output)
    assert got["executionArn"] == described["executionArn"]
    assert got["stateMachineArn"] == mgmt["machine"]
    assert got["status"] == "SUCCEEDED" and json.loads(got["input"]) == {"id": pid}
    assert datetime.fromisoformat(got["startDate"]) == described["startDate"]
    local = cirro("payload", "get", "--execution", pid, code=None)
    assert getattr(local.exception, "exit_code", None) == 2
    assert "--execution reads Step Functions" in str(local.exception)


def test_follow_prints_new_lines_until_the_execution_stops(
    mgmt: dict[str, Any], mgmt_session: Any, monkeypatch: Any
) -> None:
    from cirrostratus.aws import cwlogs
    from cirrostratus.state.dynamodb import DynamoStateStore

    pid, stream = "c3/workflow-slow/item-1", "2026/11/30/[$LATEST]ffff"
    sfn = mgmt_session.client("stepfunctions")
    task_a = mgmt_session.client("lambda").get_function(FunctionName=f"{STACK}-task-a")
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": task_a["Configuration"]["FunctionArn"], "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 3, "End": True}}}  # fmt: skip
    machine = sfn.create_state_machine(name=f"{STACK}-slow", definition=json.dumps(definition),
                                       roleArn=mgmt["role"])["stateMachineArn"]  # fmt: skip
    arn = sfn.start_execution(stateMachineArn=machine, name="follow-1",
                              input=json.dumps({"id": pid}))["executionArn"]  # fmt: skip
    store = DynamoStateStore(mgmt["table"], client=mgmt_session.client("dynamodb"))
    store.claim(pid, arn)
    store.start(pid, arn)
    logs = mgmt_session.client("logs")
    before = int(time.time() * 1000)
    _put(logs, f"/aws/lambda/{STACK}-task-a", stream, [(before, f"[{pid} r1] before follow")])
    real_window, calls, later = cwlogs.window, [], []

    def window(client: Any, execution: str) -> Any:
        calls.append(execution)
        if len(calls) == 2:  # --follow's first look, after the first print: a line arrives
            later.append(before + 1)  # late, as CloudWatch's ingestion can be: in the window
            logs.put_log_events(logGroupName=f"/aws/lambda/{STACK}-task-a", logStreamName=stream,
                                logEvents=[{"timestamp": later[0],
                                            "message": f"[{pid} r1] while following"}])  # fmt: skip
        return real_window(client, execution)

    monkeypatch.setattr(cwlogs, "window", window)
    args = ("payload", "logs", pid, "--deployment", "mgmt", "--follow", "--poll", "0.1")
    text = cirro(*args).output.splitlines()
    end = sfn.describe_execution(executionArn=arn)
    assert end["status"] == "SUCCEEDED"
    assert text[0].startswith(f"== execution 1 of 1: {arn}  RUNNING  ")
    assert text[1:] == [
        f"-- lambda {STACK}-task-a  (/aws/lambda/{STACK}-task-a)",
        f"{_iso(before)} [{stream}] [{pid} r1] before follow",
        f"{_iso(later[0])} {STACK}-task-a [{stream}] [{pid} r1] while following",
        f"== {arn}  SUCCEEDED  {_iso(_ms(end['stopDate']))}",
    ]
    local = cirro("payload", "logs", "--follow", "x/workflow-y/z", code=None)
    assert getattr(local.exception, "exit_code", None) == 2
    assert "--follow reads CloudWatch Logs: give --deployment NAME" in str(local.exception)


def test_a_functions_own_log_group_is_followed(mgmt_session: Any) -> None:
    """moto's Lambda has no LoggingConfig: a stand-in answers as AWS does for such a function."""
    from cirrostratus.aws.cwlogs import _log_group

    class Lambda:
        def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
            return {"FunctionName": FunctionName, "LoggingConfig": {"LogGroup": "/shared/tasks"}}

    assert _log_group(Lambda(), "s-dev-a") == "/shared/tasks"
    # moto's answer has no LoggingConfig, and an unknown function fails: Lambda's default
    lam = mgmt_session.client("lambda")
    assert _log_group(lam, f"{STACK}-task-a") == f"/aws/lambda/{STACK}-task-a"
    assert _log_group(lam, "no-such-function") == "/aws/lambda/no-such-function"


def test_batch_jobs_of_a_history_in_each_event_shape() -> None:
    from cirrostratus.aws.cwlogs import batch_jobs

    def event(kind: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, f"task{kind[4:]}EventDetails": {
            "resourceType": "batch", "resource": "submitJob.sync", key: json.dumps(body)}}  # fmt: skip

    history = [
        event("TaskSubmitted", "output", {"JobId": "j1", "JobName": "one"}),
        event("TaskSucceeded", "output",
              {"JobId": "j1", "JobName": "one", "Container": {"LogStreamName": "one/default/a"}}),
        event("TaskSubmitted", "output", {"JobId": "j2", "JobName": "two"}),
        # a failed job: its description is the cause (the last attempt's stream in it)
        event("TaskFailed", "cause",
              {"JobId": "j2", "JobName": "two", "Container": {"LogStreamName": "two/default/b"}}),
        {"type": "TaskFailed", "taskFailedEventDetails": {"resourceType": "batch",
                                                          "cause": "not json"}},
    ]  # fmt: skip
    assert batch_jobs(history) == [("j1", "one", "one/default/a"), ("j2", "two", "two/default/b")]
