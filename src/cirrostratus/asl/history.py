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
