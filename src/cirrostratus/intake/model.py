"""The values an intake queue hands out: messages, dead letters, counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

#: What may be sent: raw bytes, text, or a JSON-able mapping (encoded once, with orjson).
Body = bytes | str | Mapping[str, Any]


class IntakeError(Exception):
    """A queue that cannot be opened, or a request it cannot honour."""


def encode(body: Body) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return orjson.dumps(body)


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery of a message. `receipt` names this delivery: delete or extend with it."""

    id: str
    body: bytes
    receive_count: int
    receipt: str
    sent: float  # epoch seconds

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that will not be delivered again until redriven, and why."""

    id: str
    body: bytes
    receive_count: int
    error: str | None
    sent: float
    dead_at: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """`visible`: ready now; `in_flight`: received and leased; `delayed`: sent or released
    with a delay; `dead`: in the dead letters."""

    visible: int
    in_flight: int
    delayed: int
    dead: int

    def to_dict(self) -> dict[str, int]:
        return {
            "visible": self.visible,
            "in_flight": self.in_flight,
            "delayed": self.delayed,
            "dead": self.dead,
        }


@dataclass(frozen=True, slots=True)
class Waiting:
    """A message waiting in the intake for the payload it carries (QUEUED): how often it was
    delivered, and whether an engine holds it now (`leased`)."""

    message_id: str
    payload_id: str
    receive_count: int
    sent: float  # epoch seconds
    leased: bool
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "payload_id": self.payload_id,
            "receive_count": self.receive_count,
            "sent": self.sent,
            "leased": self.leased,
            "last_error": self.last_error,
        }
