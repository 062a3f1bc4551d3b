"""The job description AWS Batch keeps for a job, built and finished the way AWS reports it.

`submitJob.sync` returns (or, failed, raises as its Cause) the job's description with
PascalCase keys, and Cirrus's post-batch reads it: `Attempts[-1].Container.LogStreamName`
names the log it parses. Its shape lives here, apart from how attempts run (batch_attempt.py)
and how the runner schedules them (batch.py): what parameters a job sees, which command and
environment overrides win, the ARNs, and the final Status and StatusReason.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import orjson

from cirrostratus.runtime.env import LOCAL_ACCOUNT
from cirrostratus.runtime.errors import BATCH_FAILED, TaskFailed
from cirrostratus.runtime.jobs import JobSpec, QueueSpec, fill_refs

CLIENT_ERROR = "Batch.ClientException"
ESSENTIAL_EXITED = "Essential container in task exited"
"""AWS Batch's StatusReason for a job whose container ended (exit code 0 or not)."""


@dataclass
class Submission:
    """One `submitJob` call resolved against its job definition: what every attempt runs
    with, and the description its attempts are appended to."""

    job_id: str
    parameters: dict[str, str]
    command: list[str]
    env: dict[str, str]
    vcpus: float
    memory: float
    gpus: int
    description: dict[str, Any]


def submission(
    job: JobSpec, queue: QueueSpec, params: Mapping[str, Any], region: str
) -> Submission:
    """Apply `params` (Parameters, ContainerOverrides) to `job` as AWS Batch does: call
    parameters over the definition's defaults, `Ref::x` filled in the command, override
    environment and resource requirements winning; the description starts RUNNABLE."""
    job_id = str(uuid.uuid4())
    job_name = str(params.get("JobName") or job.name)
    overrides = params.get("ContainerOverrides") or {}
    parameters = {
        **job.parameters,
        **{str(k): text(v) for k, v in (params.get("Parameters") or {}).items()},
    }
    command = fill_refs(overrides.get("Command") or job.command, parameters)
    env = dict(job.environment)
    for item in overrides.get("Environment") or []:
        env[str(item["Name"])] = text(item.get("Value", ""))
    vcpus, memory, gpus = job.vcpus, float(job.memory_mb), job.gpus
    for req in overrides.get("ResourceRequirements") or []:
        kind, value = str(req.get("Type", "")).upper(), req.get("Value")
        if kind == "VCPU":
            vcpus = float(value)
        elif kind == "MEMORY":
            memory = float(value)
        elif kind == "GPU":
            gpus = int(value)
    env.update(
        {
            "AWS_BATCH_JOB_ID": job_id,
            "AWS_BATCH_JQ_NAME": queue.name,
            "AWS_BATCH_CE_NAME": "local",
        }
    )
    description: dict[str, Any] = {
        "JobArn": f"arn:aws:batch:{region}:{LOCAL_ACCOUNT}:job/{job_id}",
        "JobName": job_name,
        "JobId": job_id,
        "JobQueue": f"arn:aws:batch:{region}:{LOCAL_ACCOUNT}:job-queue/{queue.name}",
        "JobDefinition": f"arn:aws:batch:{region}:{LOCAL_ACCOUNT}:job-definition/{job.name}:1",
        "Status": "RUNNABLE",
        "Parameters": parameters,
        "CreatedAt": now_ms(),
        "RetryStrategy": {"Attempts": job.attempts},
        "Attempts": [],
        "Container": {
            "Image": job.image,
            "Vcpus": vcpus,
            "Memory": int(memory),
            "Command": command,
            "Environment": [{"Name": k, "Value": v} for k, v in env.items()],
        },
    }
    if job.timeout_s:
        description["Timeout"] = {"AttemptDurationSeconds": job.timeout_s}
    return Submission(job_id, parameters, command, env, vcpus, memory, gpus, description)


def finish(description: dict[str, Any]) -> dict[str, Any]:
    """The description once its attempts are done, summarised from the last one: returned
    when it exited 0, else raised as TaskFailed(BATCH_FAILED, <description as JSON>)."""
    last = description["Attempts"][-1]
    description["StartedAt"] = description["Attempts"][0].get("StartedAt", description["CreatedAt"])
    description["StoppedAt"] = last.get("StoppedAt", now_ms())
    description["Container"]["ExitCode"] = last["Container"].get("ExitCode")
    if last["Container"].get("Reason"):
        description["Container"]["Reason"] = last["Container"]["Reason"]
    description["Container"]["LogStreamName"] = last["Container"]["LogStreamName"]
    if last["Container"].get("ExitCode") == 0:
        description["Status"] = "SUCCEEDED"
        description["StatusReason"] = ESSENTIAL_EXITED
        return description
    description["Status"] = "FAILED"
    description["StatusReason"] = last.get("StatusReason") or ESSENTIAL_EXITED
    raise TaskFailed(BATCH_FAILED, orjson.dumps(description).decode())


def fail_before_start(description: dict[str, Any], stream: str, message: str) -> NoReturn:
    """Fail a job none of whose attempts could start (e.g. no GPU): one attempt with no exit
    code whose reason is `message`, raised as TaskFailed(BATCH_FAILED, ...)."""
    now = now_ms()
    description["Attempts"].append(
        {
            "Container": {"ExitCode": None, "LogStreamName": stream, "Reason": message},
            "StartedAt": now,
            "StoppedAt": now,
            "StatusReason": message,
        }
    )
    description.update(
        Status="FAILED",
        StatusReason=message,
        StartedAt=now,
        StoppedAt=now,
    )
    description["Container"].update(ExitCode=None, LogStreamName=stream, Reason=message)
    raise TaskFailed(BATCH_FAILED, orjson.dumps(description).decode())


def text(value: Any) -> str:
    """A Parameters or Environment value as the string AWS passes (JSON for structures)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def now_ms() -> int:
    """Now in epoch milliseconds, AWS Batch's unit for CreatedAt, StartedAt and StoppedAt."""
    return int(time.time() * 1000)
