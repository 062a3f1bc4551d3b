"""What an engine does first: pick up what a dead engine left behind.

Run under the engine lock, so every busy record is an orphan:
- what the outbox still holds (chained payloads, notifications of a transition that was
  committed just before the engine died) is delivered first;
- a CLAIMED or PROCESSING record has no live execution: it is closed as ABORTED (with the
  reason, `EngineStopped: …`) and its stored input (`<payload id>/input.json`) goes back to the intake, so the
  process rules start it again as a new execution;
- a CLAIMED record without a stored input never started: it is released (FAILED with the
  reason) — its intake message, never deleted, is delivered again;
- intake messages leased by the dead engine are given back at once.
"""

from __future__ import annotations

import logging

import orjson

from cirrostratus.engine.notify import Notifier
from cirrostratus.engine.outbox import deliver
from cirrostratus.engine.process import input_key
from cirrostratus.intake import IntakeQueue
from cirrostratus.state import State, StateStore, Transition
from cirrostratus.storage import StoreError
from cirrostratus.storage.store import ObjectStore

logger = logging.getLogger(__name__)
LOST = "EngineStopped: the engine running this payload stopped before it finished; resumed"


def recover(
    store: StateStore,
    intake: IntakeQueue,
    payloads: ObjectStore,
    notifier: Notifier | None = None,
) -> int:
    """Resume every orphaned payload; return how many were re-queued."""
    try:
        deliver(store, intake, notifier)
    except Exception as exc:  # the drain loop delivers it again once writes work
        logger.warning("the outbox waits: %s: %s", type(exc).__name__, exc)
    requeued = 0
    for state in (State.CLAIMED, State.PROCESSING):
        nextkey = None
        while True:
            page = store.query(state=state, limit=500, nextkey=nextkey, ascending=True)
            if not page.items:
                break
            transitions = []
            bodies = []
            for rec in page.items:
                key = input_key(rec.payload_id)
                has_input = _exists(payloads, key)
                if has_input:
                    transitions.append(Transition.abort(rec.payload_id, rec.execution_id, LOST))
                    bodies.append(orjson.dumps({"url": payloads.url(key)}))
                else:
                    transitions.append(Transition.fail(rec.payload_id, LOST, rec.execution_id))
            store.apply(transitions)
            if bodies:
                intake.send_batch(bodies)
                requeued += len(bodies)
            nextkey = page.nextkey
            if nextkey is None:
                break
    released = intake.release_all()
    if requeued or released:
        logger.warning(
            "resumed %d payloads and %d intake messages left by a stopped engine",
            requeued,
            released,
        )
    return requeued


def _exists(payloads: ObjectStore, key: str) -> bool:
    try:
        return bool(payloads.exists(key))
    except StoreError:
        return False
