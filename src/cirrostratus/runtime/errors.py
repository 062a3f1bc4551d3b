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
            return str(body["StatusReason"])
    return cause


__all__ = [
    "BATCH_FAILED",
    "EXIT_ERROR",
    "OUT_OF_MEMORY",
    "RUNTIME",
    "TIMEOUT",
    "TOO_MANY_REQUESTS",
    "TaskFailed",
    "describe_exception",
    "error_message",
    "lambda_cause",
    "runtime_failure",
]
