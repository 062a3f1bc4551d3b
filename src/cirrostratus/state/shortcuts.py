"""What every state store derives from its core operations, written once for all backends.

Every store applies a batch of `Transition`s under the shared rules (`state.rules`); `claim`,
`complete`, `fail`... are that batch of one. Every store pages its `query`; `iter_query` walks
the pages. Whatever the backend (SQLite or DynamoDB).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from cirrostratus.state.model import Outcome, Page, StateRecord, Transition


class PagedQuery:
    """Mixin: `iter_query(**filters)` yields every record `query(**filters)` matches."""

    query: Callable[..., Page]  # the store's own, whatever its filters

    def iter_query(self, **kwargs: Any) -> Iterator[StateRecord]:
        """Every record a query matches, page by page."""
        nextkey: str | None = None
        while True:
            page = self.query(**kwargs, nextkey=nextkey)
            yield from page.items
            if page.nextkey is None:
                return
            nextkey = page.nextkey


class TransitionShortcuts:
    """Mixin: `claim(...)` is `apply([Transition.claim(...)])[0]`, and so on."""

    def apply(self, transitions: Sequence[Transition]) -> list[Outcome]:
        raise NotImplementedError

    def _one(self, t: Transition) -> Outcome:
        return self.apply([t])[0]

    def claim(
        self,
        payload_id: str,
        execution_id: str,
        *,
        replace: bool = False,
        lease_seconds: float | None = None,
    ) -> Outcome:
        return self._one(
            Transition.claim(payload_id, execution_id, replace=replace, lease_seconds=lease_seconds)
        )

    def start(self, payload_id: str, execution_id: str) -> Outcome:
        return self._one(Transition.start(payload_id, execution_id))

    def claim_and_start(
        self, payload_id: str, execution_id: str, *, replace: bool = False
    ) -> Outcome:
        return self._one(Transition.claim_and_start(payload_id, execution_id, replace=replace))

    def complete(
        self,
        payload_id: str,
        execution_id: str | None = None,
        outputs: list[str] | None = None,
    ) -> Outcome:
        return self._one(Transition.complete(payload_id, execution_id, outputs))

    def fail(self, payload_id: str, error: str, execution_id: str | None = None) -> Outcome:
        return self._one(Transition.fail(payload_id, error, execution_id))

    def invalidate(self, payload_id: str, error: str, execution_id: str | None = None) -> Outcome:
        return self._one(Transition.invalidate(payload_id, error, execution_id))

    def abort(self, payload_id: str, execution_id: str | None = None) -> Outcome:
        return self._one(Transition.abort(payload_id, execution_id))

    def delete(self, payload_id: str) -> Outcome:
        return self._one(Transition.delete(payload_id))
