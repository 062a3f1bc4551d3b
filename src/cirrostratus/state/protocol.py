"""The StateStore protocol: what the engine, the API and the CLI may ask of any backend.

The SQLite store implements it; a DynamoDB twin (Cirrus's table schema) would too. All
writes are `Transition`s run by `apply`, so a backend only has to implement the rules of
`cirrostratus.state.rules` once, atomically, for a list of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from cirrostratus.state.model import (
    Event,
    OutboxRow,
    Outcome,
    Page,
    State,
    StateRecord,
    Transition,
)


@runtime_checkable
class StateStore(Protocol):
    """One record per payload id plus an append-only log of every transition."""

    def apply(self, transitions: Sequence[Transition]) -> list[Outcome]:
        """Run the transitions in order, atomically; one Outcome each."""
        ...

    def claim(
        self,
        payload_id: str,
        execution_id: str,
        *,
        replace: bool = False,
        lease_seconds: float | None = None,
    ) -> Outcome: ...

    def start(self, payload_id: str, execution_id: str) -> Outcome: ...

    def claim_and_start(
        self, payload_id: str, execution_id: str, *, replace: bool = False
    ) -> Outcome: ...

    def complete(
        self, payload_id: str, execution_id: str | None = None, outputs: list[str] | None = None
    ) -> Outcome: ...

    def fail(self, payload_id: str, error: str, execution_id: str | None = None) -> Outcome: ...

    def invalidate(
        self, payload_id: str, error: str, execution_id: str | None = None
    ) -> Outcome: ...

    def abort(self, payload_id: str, execution_id: str | None = None) -> Outcome: ...

    def delete(self, payload_id: str) -> Outcome: ...

    def release_expired(self) -> list[Outcome]: ...

    def get(self, payload_id: str) -> StateRecord | None: ...

    def get_many(self, payload_ids: Iterable[str]) -> dict[str, StateRecord]: ...

    def get_states(self, payload_ids: Iterable[str]) -> dict[str, State]: ...

    def query(
        self,
        *,
        collections: str | None = None,
        workflow: str | None = None,
        state: State | str | None = None,
        since: str | timedelta | None = None,
        error_prefix: str | None = None,
        sort: str = "updated",
        ascending: bool = False,
        limit: int = 100,
        nextkey: str | None = None,
    ) -> Page: ...

    def iter_query(self, **filters: Any) -> Iterator[StateRecord]:
        """Every record `query(**filters)` matches, page by page."""
        ...

    def counts(
        self,
        *,
        collections: str | None = None,
        workflow: str | None = None,
        since: str | timedelta | None = None,
        error_prefix: str | None = None,
        limit: int | None = None,
    ) -> dict[str, int | str]: ...

    def events(
        self, payload_id: str | None = None, *, after: int = 0, limit: int = 1000
    ) -> list[Event]: ...

    def stats(self) -> dict[str, Any]: ...

    def outbox(self, limit: int = 1000) -> list[OutboxRow]:
        """Follows committed with their transitions and not yet delivered, oldest first."""
        ...

    def outbox_done(self, seqs: Sequence[int]) -> int:
        """Forget outbox rows once delivered."""
        ...

    def close(self) -> None: ...
