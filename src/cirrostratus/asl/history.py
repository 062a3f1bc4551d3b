"""Execution history: what happened, when, and in which state.

Events are small slotted objects appended to a list; `HistoryEvent.to_dict()` gives the JSON
form the CLI prints. `path` locates nested states: `Map/2/Inner` is state Inner in iteration 2
of Map, `Par/0/Step` is Step in branch 0 of Par.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from cirrostratus.asl.timeutil import format_timestamp


class HistoryEvent(NamedTuple):
    """One event. A NamedTuple: executions record thousands of these, so they must be cheap."""

    id: int
    type: str
    timestamp: datetime
    state: str | None = None
    path: str | None = None
    details: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "timestamp": format_timestamp(self.timestamp),
        }
        if self.state is not None:
            out["state"] = self.state
        if self.path is not None and self.path != self.state:
            out["path"] = self.path
        if self.details:
            out["details"] = self.details
        return out


class StateSpan(NamedTuple):
    """One visit to a state: when it was entered and left, and how it ended."""

    path: str
    state: str
    type: str
    entered: datetime
    exited: datetime | None
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.exited is None else (self.exited - self.entered).total_seconds()


def state_spans(history: list[HistoryEvent]) -> list[StateSpan]:
    """Pair each `<Type>StateEntered` with its `Exited` (or the error that ended it), in
    the order states were entered: where the time went and which state failed.

    A state left without an Exited event (it failed, or the execution stopped) has
    `exited` set to the time of the failure event when there is one, else None.
    """
    spans: list[StateSpan] = []
    open_at: dict[str, list[int]] = {}
    for event in history:
        path = event.path or event.state
        if path is None:
            continue
        if event.type.endswith("StateEntered"):
            open_at.setdefault(path, []).append(len(spans))
            kind = event.type[: -len("StateEntered")]
            spans.append(StateSpan(path, event.state or path, kind, event.timestamp, None))
        elif event.type.endswith("StateExited") and open_at.get(path):
            index = open_at[path].pop()
            spans[index] = spans[index]._replace(exited=event.timestamp)
        elif event.type in _FAILURES and open_at.get(path):
            index = open_at[path][-1]
            error = (event.details or {}).get("error")
            spans[index] = spans[index]._replace(exited=event.timestamp, error=error)
    return spans


_FAILURES = frozenset(
    {"TaskFailed", "TaskTimedOut", "MapStateFailed", "ParallelStateFailed", "ExecutionFailed"}
)
