"""The IntakeQueue protocol: a durable queue with leases and dead letters (SQS-shaped).

A received message is leased for a visibility timeout; if the receiver neither deletes nor
extends it by then, it is delivered again. A message received `max_receives` times without
being deleted moves to the dead letters with its last error, where it waits for `redrive`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from cirrostratus.intake.model import Body, DeadLetter, Message, QueueCounts


@runtime_checkable
class IntakeQueue(Protocol):
    def send(self, body: Body, *, delay: float = 0) -> str: ...

    def send_batch(
        self,
        bodies: Iterable[Body],
        *,
        delay: float = 0,
        payload_ids: Sequence[str | None] | None = None,
    ) -> list[str]: ...

    def receive(
        self, max_messages: int = 10, *, visibility_timeout: float | None = None
    ) -> list[Message]: ...

    def delete(self, receipt: str) -> bool: ...

    def delete_batch(self, receipts: Sequence[str]) -> int: ...

    def extend(self, receipt: str, seconds: float) -> bool: ...

    def release(self, receipt: str, *, error: str | None = None, delay: float = 0) -> bool: ...

    def release_all(self) -> int: ...

    def fail(self, receipt: str, error: str) -> bool: ...

    def dead_letter(self, body: Body, error: str) -> str: ...

    def dead_letters(self, *, limit: int = 100, after: str | None = None) -> list[DeadLetter]: ...

    def redrive(self, ids: Iterable[str] | None = None) -> int: ...

    def purge_dead(self, ids: Iterable[str] | None = None) -> int: ...

    def counts(self) -> QueueCounts: ...

    def close(self) -> None: ...
