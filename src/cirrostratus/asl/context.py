"""What the interpreter hands to an invoker, and what an execution returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cirrostratus.asl.history import HistoryEvent


@dataclass(slots=True)
class TaskContext:
    """Everything a Task invocation may want to know about where it runs.

    `heartbeat()` tells the interpreter the task is alive (for HeartbeatSeconds).
    """

    execution_id: str
    execution_name: str
    state_name: str
    entered_time: datetime
    retry_count: int
    task_token: str
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    state_path: str = ""
    _beat: Callable[[], None] | None = field(default=None, repr=False)

    def heartbeat(self) -> None:
        if self._beat is not None:
            self._beat()


Invoker = Callable[[Any, Any, TaskContext], Awaitable[Any]]
"""`(Resource exactly as written, effective parameters, context) -> result`; raise TaskFailed."""


@dataclass(slots=True)
class ExecutionResult:
    """The outcome of one execution.

    status is SUCCEEDED, FAILED, TIMED_OUT or ABORTED; `error`/`cause` are set unless it
    succeeded; `failed_state` is the path of the state whose error ended the execution.
    """

    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[HistoryEvent]
    start: datetime
    stop: datetime
    execution_id: str = ""
    name: str = ""
    failed_state: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def to_dict(self, *, history: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
        }
        if self.failed_state is not None:
            out["failed_state"] = self.failed_state
        if self.warnings:
            out["warnings"] = self.warnings
        if history:
            out["history"] = [event.to_dict() for event in self.history]
        return out
