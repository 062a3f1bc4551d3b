"""A payload's logs on a live deployment, from CloudWatch Logs (`cirro payload logs --deployment`).

On AWS a payload's task output is spread over log groups shared with every other payload, so
finding it takes three lookups, each from where AWS keeps the fact:
- the payload's executions (the state record) and each one's time window (Step Functions'
  start and stop dates);
- the Lambda functions its workflow calls (the state machine's definition: a Task's Resource
  ARN, or `Parameters.FunctionName` of the `lambda:invoke` integration) → `/aws/lambda/<name>`,
  where only lines naming the payload id count (Cirrus's JSON logger puts the id in every line
  of a task logger, stac-task prefixes `[<payload id> <request id>]`);
- the Batch jobs it ran (the execution history's Batch task events carry the JobId; Batch's
  DescribeJobs gives the log stream) → that stream of `/aws/batch/job`, which is the job's own,
  so every line counts.
Every read is restricted to the execution's window. boto3 is imported by the caller's session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BATCH_GROUP = "/aws/batch/job"


@dataclass
class Window:
    """One execution of the payload and the time it ran (ms since the epoch)."""

    arn: str
    status: str
    start_ms: int
    stop_ms: int | None  # None while it runs
    state_machine_arn: str = ""
    note: str = ""  # why nothing more could be learnt (e.g. the execution expired)


@dataclass
class Source:
    """One place a task of an execution logged: a Lambda's log group or a Batch job's stream."""

    kind: str  # "lambda" | "batch"
    name: str  # function name, or "<job name> <job id>"
    group: str
    stream: str | None = None  # a Batch job's own stream
    note: str = ""  # set when the source cannot be read (no stream yet, …)


@dataclass
class Line:
    time_ms: int
    stream: str
    message: str

    @property
    def time(self) -> str:
        moment = datetime.fromtimestamp(self.time_ms / 1000, tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Found:
    """What reading one source gave: its lines, or the reason there are none."""

    source: Source
    lines: list[Line] = field(default_factory=list)
    missing: str = ""


def _ms(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


def _error(exc: BaseException) -> tuple[str, str]:
    err = getattr(exc, "response", {}).get("Error", {})
    return str(err.get("Code", "")), str(err.get("Message") or exc)


def function_name(ref: str) -> str:
    """`arn:aws:lambda:r:a:function:NAME[:qualifier]`, `NAME:alias` or `NAME` → NAME."""
    if ref.startswith("arn:"):
        parts = ref.split(":")
        return parts[6] if len(parts) > 6 else ref
    return ref.split(":")[0]


def lambda_functions(definition: dict[str, Any]) -> list[str]:
    """The Lambda functions a state machine definition calls, in order of appearance (Parallel
    branches and Map iterators included). A `FunctionName.$` chosen at run time is unknowable."""
    found: list[str] = []

    def walk(machine: dict[str, Any]) -> None:
        for state in (machine.get("States") or {}).values():
            if not isinstance(state, dict):
                continue
            resource = str(state.get("Resource") or "")
            params = state.get("Parameters") or {}
            if resource.startswith("arn:") and ":lambda:" in resource and ":function:" in resource:
                found.append(function_name(resource))
            elif ":states:::lambda:invoke" in resource:
                name = params.get("FunctionName") if isinstance(params, dict) else None
                if isinstance(name, str):
                    found.append(function_name(name))
            for branch in state.get("Branches") or []:
                walk(branch)
            for key in ("Iterator", "ItemProcessor"):
                if isinstance(state.get(key), dict):
                    walk(state[key])

    walk(definition)
    return list(dict.fromkeys(found))


def _job_fields(data: Any) -> tuple[str, str, str] | None:
    """(job id, job name, log stream) from a Batch job description in either case style (the
    Step Functions integration writes PascalCase, Batch's API camelCase)."""
    if not isinstance(data, dict):
        return None
    job_id = data.get("JobId") or data.get("jobId")
    if not isinstance(job_id, str):
        return None
    name = data.get("JobName") or data.get("jobName") or ""
    container = data.get("Container") or data.get("container") or {}
    stream = container.get("LogStreamName") or container.get("logStreamName") or ""
    return job_id, str(name), str(stream)


def batch_jobs(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The Batch jobs an execution history names: (job id, job name, log stream or "")."""
    jobs: dict[str, tuple[str, str, str]] = {}
    for event in events:
        for key in ("taskSubmittedEventDetails", "taskSucceededEventDetails"):
            details = event.get(key)
            if not details or details.get("resourceType") != "batch":
                continue
            try:
                fields = _job_fields(json.loads(details.get("output") or "null"))
            except ValueError:
                continue
            if fields is not None:
                old = jobs.get(fields[0])
                if old is None or (fields[2] and not old[2]):
                    jobs[fields[0]] = fields
        details = event.get("taskFailedEventDetails")
        if details and details.get("resourceType") == "batch":
            try:
                fields = _job_fields(json.loads(details.get("cause") or "null"))
            except ValueError:
                fields = None
            if fields is not None and (fields[0] not in jobs or fields[2]):
                jobs[fields[0]] = fields
    return list(jobs.values())


def window(sfn: Any, arn: str) -> Window:
    try:
        described = sfn.describe_execution(executionArn=arn)
    except Exception as exc:
        message = _error(exc)[1]
        return Window(arn, "UNKNOWN", 0, None, note=f"cannot describe execution: {message}")
    stop = described.get("stopDate")
    return Window(
        arn,
        str(described.get("status", "")),
        _ms(described["startDate"]),
        _ms(stop) if stop else None,
        str(described.get("stateMachineArn", "")),
    )


def sources(session: Any, win: Window) -> list[Source]:
    """Where the tasks of one execution logged: its workflow's Lambdas, then its Batch jobs."""
    if win.note:
        return []
    sfn = session.client("stepfunctions")
    found: list[Source] = []
    try:
        # the definition this execution ran, not the state machine's current one
        machine = sfn.describe_state_machine_for_execution(executionArn=win.arn)
        definition = json.loads(machine["definition"])
    except Exception as exc:
        win.note = f"cannot read state machine {win.state_machine_arn}: {_error(exc)[1]}"
        definition = {}
    functions = lambda_functions(definition)
    lam = session.client("lambda") if functions else None
    for name in functions:
        found.append(Source("lambda", name, _log_group(lam, name)))
    try:
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=win.arn)
        events = [e for page in pages for e in page["events"]]
    except Exception as exc:
        win.note = f"cannot read the execution history: {_error(exc)[1]}"
        events = []
    jobs = batch_jobs(events)
    if jobs:
        found.extend(_batch_sources(session, jobs))
    return found


def _log_group(lam: Any, function: str) -> str:
    """The function's log group: Lambda's default `/aws/lambda/<name>`, unless its
    LoggingConfig names another."""
    try:
        config = lam.get_function_configuration(FunctionName=function)
        group = (config.get("LoggingConfig") or {}).get("LogGroup")
    except Exception:
        group = None  # not allowed to look, or gone: the default is still the best guess
    return str(group or f"/aws/lambda/{function}")


def _batch_sources(session: Any, jobs: list[tuple[str, str, str]]) -> list[Source]:
    described: dict[str, dict[str, Any]] = {}
    try:
        batch = session.client("batch")
        ids = [job_id for job_id, _, _ in jobs]
        for start in range(0, len(ids), 100):
            for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
                described[job["jobId"]] = job
    except Exception:
        pass  # the history's own stream names still serve
    out: list[Source] = []
    for job_id, name, stream in jobs:
        job = described.get(job_id, {})
        container = job.get("container") or {}
        attempts = job.get("attempts") or []
        stream = (
            container.get("logStreamName")
            or (attempts[-1].get("container", {}).get("logStreamName") if attempts else None)
            or stream
        )
        options = (container.get("logConfiguration") or {}).get("options") or {}
        group = options.get("awslogs-group") or BATCH_GROUP
        label = f"{job.get('jobName') or name} {job_id}".strip()
        note = "" if stream else f"no log stream yet (job is {job.get('status', 'unknown')})"
        out.append(Source("batch", label, group, stream or None, note))
    return out


def read(logs: Any, source: Source, win: Window, payload_id: str) -> Found:
    """The source's lines within the window; a Lambda's only when they name the payload id."""
    if source.note:
        return Found(source, missing=source.note)
    kwargs: dict[str, Any] = {"logGroupName": source.group, "startTime": win.start_ms}
    if win.stop_ms is not None:
        kwargs["endTime"] = win.stop_ms
    if source.stream:
        kwargs["logStreamNames"] = [source.stream]
    wanted = payload_id if source.kind == "lambda" else None
    if wanted and '"' not in wanted:
        kwargs["filterPattern"] = f'"{wanted}"'  # CloudWatch's exact-phrase term
    found = Found(source)
    try:
        for event in _events(logs, kwargs):
            message = str(event.get("message", ""))
            if wanted and wanted not in message:
                continue
            stream = str(event.get("logStreamName", ""))
            found.lines.append(Line(int(event["timestamp"]), stream, message.rstrip("\n")))
    except Exception as exc:
        code, message = _error(exc)
        if code == "ResourceNotFoundException":
            found.missing = f"log group {source.group} does not exist"
        else:
            found.missing = f"cannot read {source.group}: {message}"
    if source.stream and not found.lines and not found.missing:
        found.missing = _stream_missing(logs, source.group, source.stream)
    found.lines.sort(key=lambda line: line.time_ms)
    return found


def _stream_missing(logs: Any, group: str, stream: str) -> str:
    """Why a job's stream gave nothing, when it is because the stream is not there."""
    try:
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)
    except Exception as exc:
        return f"cannot read {group}: {_error(exc)[1]}"
    if any(s.get("logStreamName") == stream for s in streams.get("logStreams", [])):
        return ""
    return f"log stream {stream} does not exist in {group}"


def _events(logs: Any, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
        yield from page.get("events", [])


def payload_logs(
    session: Any, arns: list[str], payload_id: str
) -> list[tuple[Window, list[Found]]]:
    """For each execution ARN: its window and what each of its log sources holds."""
    sfn, logs = session.client("stepfunctions"), session.client("logs")
    out: list[tuple[Window, list[Found]]] = []
    for arn in arns:
        win = window(sfn, arn)
        out.append((win, [read(logs, s, win, payload_id) for s in sources(session, win)]))
    return out
