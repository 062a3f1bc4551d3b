"""runtime/batch_description.py and batch_attempt.py's exit codes, without running a job."""

from __future__ import annotations

import signal

import orjson
import pytest

from cirrostratus.runtime.batch_attempt import exit_code, killed_reason
from cirrostratus.runtime.batch_description import ESSENTIAL_EXITED, finish, submission
from cirrostratus.runtime.errors import TaskFailed
from cirrostratus.runtime.jobs import JobSpec, QueueSpec

JOB = JobSpec(
    "TaskJob",
    "task-job",
    image="img:1",
    command=["run", "Ref::url", "Ref::other"],
    parameters={"url": "default", "other": "kept"},
    environment={"A": "job", "B": "job"},
    vcpus=1.0,
    memory_mb=512,
    attempts=2,
    timeout_s=60,
)


def test_call_parameters_and_overrides_win_over_the_definition() -> None:
    params = {
        "JobName": "mine",
        "Parameters": {"url": "s3://b/k.json", "flag": True, "doc": {"x": [1]}},
        "ContainerOverrides": {
            "Environment": [{"Name": "B", "Value": 7}],
            "ResourceRequirements": [
                {"Type": "VCPU", "Value": "2"},
                {"Type": "memory", "Value": "1024"},
                {"Type": "GPU", "Value": "1"},
            ],
        },
    }
    sub = submission(JOB, QueueSpec("Q", "queue-q"), params, "eu-west-1")
    assert sub.parameters == {
        "url": "s3://b/k.json",
        "other": "kept",
        "flag": "true",
        "doc": '{"x":[1]}',
    }
    assert sub.command == ["run", "s3://b/k.json", "kept"]
    assert (sub.env["A"], sub.env["B"], sub.env["AWS_BATCH_JQ_NAME"]) == ("job", "7", "queue-q")
    assert sub.env["AWS_BATCH_JOB_ID"] == sub.job_id
    assert (sub.vcpus, sub.memory, sub.gpus) == (2.0, 1024.0, 1)
    d = sub.description
    assert d["JobName"] == "mine" and d["Status"] == "RUNNABLE"
    assert d["JobQueue"].startswith("arn:aws:batch:eu-west-1:") and d["JobQueue"].endswith(
        ":job-queue/queue-q"
    )
    assert d["Container"]["Memory"] == 1024 and d["Timeout"] == {"AttemptDurationSeconds": 60}
    assert d["RetryStrategy"] == {"Attempts": 2}


def test_finish_succeeds_on_a_zero_exit_and_raises_the_description_otherwise() -> None:
    sub = submission(JOB, QueueSpec("Q", "q"), {}, "us-west-2")
    first = {"Container": {"ExitCode": 1, "LogStreamName": "s1"}, "StartedAt": 5, "StoppedAt": 6}
    sub.description["Attempts"] = [first]
    with pytest.raises(TaskFailed) as failed:
        finish(sub.description)
    cause = orjson.loads(failed.value.cause or "")
    assert (cause["Status"], cause["StatusReason"], cause["StartedAt"]) == (
        "FAILED",
        ESSENTIAL_EXITED,
        5,
    )
    assert cause["Container"]["LogStreamName"] == "s1"
    second = {"Container": {"ExitCode": 0, "LogStreamName": "s2"}, "StoppedAt": 9}
    sub.description["Attempts"].append(second)
    done = finish(sub.description)
    assert (done["Status"], done["StoppedAt"], done["Container"]["LogStreamName"]) == (
        "SUCCEEDED",
        9,
        "s2",
    )


def test_a_signal_is_reported_as_docker_does() -> None:
    assert exit_code(-signal.SIGKILL) == 137 and exit_code(3) == 3 and exit_code(None) is None
    assert killed_reason(-signal.SIGKILL) == "Container killed by SIGKILL (exit code 137)"
    assert killed_reason(0) is None
