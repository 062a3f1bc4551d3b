"""The builtin post-batch task: the payload a Batch job wrote, or the job's own error.

On success the event is the `submitJob.sync` output: its `Parameters.url` names the input
the job read, and the job wrote its answer to that URL with `.json` → `_out.json`.

On failure the workflow catches the error into `$.error` and comes here: the Cause (the
job description as JSON) names the last attempt's log stream; the LAST line of that log is
parsed as `ErrorType: message` and an exception of that type is raised, so the workflow (and
Cirrus's state classification, e.g. `InvalidInput` → INVALID) sees the task's own error
rather than `States.TaskFailed`. A job killed by a signal (or, on AWS, for its memory) says
so instead, with its last line beside it: `UnknownError: Essential container in task
exited: Container killed by SIGKILL (exit code 137) (last log line: …)`. Locally the log is `$CIRRUS_LOG_DIR/batch/<stream>`;
without CIRRUS_LOG_DIR it is read from CloudWatch (`/aws/batch/job`) as on AWS.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.payload import batch_output_url, to_transport
from cirrostratus.runtime.errors import job_failure
from cirrostratus.storage import open_store, read_url

LOG_GROUP = "/aws/batch/job"
ERROR_LINE = re.compile(r"^(?:cirrus\.?lib\.errors\.)?(?:([\.\w]+):)?\s*(.*)")


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if "error" in event:
        raise _job_error(event["error"])
    url = event["Parameters"]["url"]
    payload = orjson.loads(read_url(batch_output_url(url)))
    bucket = os.environ.get("CIRRUS_PAYLOAD_BUCKET")
    if bucket and isinstance(payload, dict):
        return to_transport(payload, open_store(bucket), f"payloads/{uuid.uuid1()}.json")
    return payload  # type: ignore[no-any-return]


def _job_error(error: dict[str, Any]) -> Exception:
    try:
        cause = orjson.loads(error["Cause"])
        stream = cause["Attempts"][-1]["Container"]["LogStreamName"]
    except Exception as err:
        return Exception(f"Unable to get error log ({type(err).__name__}: {err})")
    killed = _killed(cause)
    try:
        message = _last_line(stream)
    except Exception as err:
        if killed:  # killed before it printed anything: the kill is the whole story
            return _named("UnknownError", killed)
        return Exception(f"Unable to get error log ({type(err).__name__}: {err})")
    if killed:
        # a signal (or AWS's OutOfMemoryError) ended the job: whatever it printed last is
        # not its error, so say how it died and show that line beside it
        return _named("UnknownError", f"{killed} (last log line: {message})")
    match = ERROR_LINE.match(message)
    error_type = (match.group(1) if match else None) or "UnknownError"
    text = match.group(2) if match else message
    return _named(error_type, text)


def _named(error_type: str, text: str) -> Exception:
    error_class: type[Exception] = type(error_type, (Exception,), {})
    return error_class(text)


def _killed(cause: Any) -> str | None:
    """How the job died, when its container was killed (its `Reason`), else None."""
    try:
        container = cause["Attempts"][-1]["Container"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(container, dict) or not container.get("Reason"):
        return None
    return job_failure(cause)


def _last_line(stream: str) -> str:
    log_dir = os.environ.get("CIRRUS_LOG_DIR")
    if log_dir:
        parts = [p for p in stream.split("/") if p not in ("", ".", "..")]
        lines = Path(log_dir, "batch", *parts).read_text(errors="replace").splitlines()
    else:
        import boto3

        logs = boto3.client("logs")
        events = logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=False
        )
        lines = [e["message"] for e in events["events"]]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ValueError(f"log stream {stream} is empty")
    return lines[-1].strip()
