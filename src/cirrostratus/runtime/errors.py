"""How task failures are named, the way AWS names them, so workflows' Retry/Catch match.

A task exception becomes Error = its class name and Cause = JSON `{"errorMessage",
"errorType", "stackTrace"}` (what Lambda reports); the runtime's own failures use the
names Lambda and Step Functions use: `States.Timeout`, `Runtime.OutOfMemory`,
`Runtime.ExitError`, `Lambda.TooManyRequestsException`, `States.TaskFailed`.
"""

from __future__ import annotations

import traceback
from typing import Any

import orjson

try:  # the interpreter's error type, once `cirrostratus.asl` exists
    from cirrostratus.asl.errors import TaskFailed
except ImportError:  # pragma: no cover - only before asl lands

    class TaskFailed(Exception):  # type: ignore[no-redef]
        """What an invoker raises: the ASL Error name and its Cause (a string, often JSON)."""

        def __init__(self, error: str, cause: str | None = None) -> None:
            super().__init__(f"{error}: {cause}" if cause else error)
            self.error = error
            self.cause = cause


TIMEOUT = "States.Timeout"
OUT_OF_MEMORY = "Runtime.OutOfMemory"
EXIT_ERROR = "Runtime.ExitError"
TOO_MANY_REQUESTS = "Lambda.TooManyRequestsException"
BATCH_FAILED = "States.TaskFailed"
RUNTIME = "States.Runtime"
RETURNED_NONE = "TaskReturnedNone"


def lambda_cause(error_type: str, message: str, stack: list[str] | None = None) -> str:
    """The Cause string Lambda writes for a failed invocation."""
    body = {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}
    return orjson.dumps(body).decode()


def runtime_failure(error_type: str, message: str) -> TaskFailed:
    """A failure of the runtime itself (not the handler): same Cause shape as a handler error."""
    return TaskFailed(error_type, lambda_cause(error_type, message))


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """Lambda's error body for an exception raised by a handler."""
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def error_message(failure: TaskFailed) -> str:
    """The human message inside a TaskFailed: Cause.errorMessage when Cause is Lambda JSON."""
    cause = failure.cause or ""
    try:
        body = orjson.loads(cause)
    except orjson.JSONDecodeError:
        return cause
    if isinstance(body, dict):
        if "errorMessage" in body:
            return str(body["errorMessage"])
        if "StatusReason" in body:
            return job_failure(body) or str(body["StatusReason"])
    return cause


def job_failure(description: Any) -> str | None:
    """What a failed Batch job's description (a `batch:submitJob.sync` Cause) says went wrong.

    AWS's StatusReason (`Essential container in task exited`) says little alone; the last
    attempt's container says more: its Reason (`Container killed by SIGKILL (exit code
    137)`, AWS's `OutOfMemoryError: Container killed due to memory usage`) or its exit code.
    None when `description` is not a job description.
    """
    if not isinstance(description, dict) or "StatusReason" not in description:
        return None
    status = str(description.get("StatusReason") or "")
    attempts = description.get("Attempts") or []
    container = (
        (attempts[-1].get("Container") if isinstance(attempts[-1], dict) else None)
        if attempts
        else description.get("Container")
    ) or {}
    reason = container.get("Reason")
    code = container.get("ExitCode")
    if reason and reason != status:
        return f"{status}: {reason}" if status else str(reason)
    if code not in (None, 0) and not reason:
        return f"{status} (exit code {code})"
    return status or None


__all__ = [
    "BATCH_FAILED",
    "EXIT_ERROR",
    "OUT_OF_MEMORY",
    "RETURNED_NONE",
    "RUNTIME",
    "TIMEOUT",
    "TOO_MANY_REQUESTS",
    "TaskFailed",
    "describe_exception",
    "error_message",
    "job_failure",
    "lambda_cause",
    "runtime_failure",
]
