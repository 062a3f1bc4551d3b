"""One-transition methods of a state store, written once over its batched `apply`.

Every store applies a batch of `Transition`s under the shared rules (`state.rules`); `claim`,
`complete`, `fail`... are that batch of one, whatever the backend (SQLite or DynamoDB).
"""

from __future__ import annotations

from collections.abc import Sequence

from cirrostratus.state.model import Outcome, Transition


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
