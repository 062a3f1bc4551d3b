"""Delivering the outbox: what committed transitions said must follow them.

The update rules never send a chained payload or a notification directly: they attach them to
the COMPLETED / FAILED / INVALID transition as `Follow`s, which the state store writes to its
outbox table in the same transaction. `deliver` then sends what the outbox holds — chained
payloads to the intake queue in one batch, notifications to the notifier — and deletes the rows
it delivered. A crash anywhere in between leaves the rows in the outbox, and the next engine
delivers them when it starts (`recovery.recover`): at least once, never lost. A duplicate
is harmless: a chained payload is deduplicated by its payload id (a COMPLETED or running
payload is not claimed again), and each notification line is the same announcement twice.

A notification whose notifier raises is not retried here (webhooks retry with backoff
themselves): its error comes back as a warning. Chained payloads the intake could not take
(a full disk under intake.db) stay in the outbox for the next `deliver`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson

from cirrostratus.engine.notify import Notifier
from cirrostratus.intake import IntakeQueue
from cirrostratus.state import INTAKE, NOTIFY, OutboxRow, StateStore

logger = logging.getLogger(__name__)
PAGE = 1000


def notification(message: Mapping[str, Any], attributes: Mapping[str, str]) -> bytes:
    """The outbox body of a notification (its topic is a column of its own)."""
    return orjson.dumps({"message": message, "attributes": attributes})


def deliver(
    store: StateStore, intake: IntakeQueue | None, notifier: Notifier | None
) -> dict[str, list[str]]:
    """Deliver everything in the outbox; return warnings by payload id.

    Stops early, keeping the rest, when the intake cannot take the chained payloads (they are
    sent by a later call); every notification handed to the notifier is done, even if it
    raised.
    """
    warnings: dict[str, list[str]] = defaultdict(list)
    while True:
        rows = store.outbox(PAGE)
        if not rows:
            break
        done, stuck = _deliver_page(rows, intake, notifier, warnings)
        store.outbox_done(done)
        if stuck or len(rows) < PAGE:
            break
    return dict(warnings)


def _deliver_page(
    rows: list[OutboxRow],
    intake: IntakeQueue | None,
    notifier: Notifier | None,
    warnings: dict[str, list[str]],
) -> tuple[list[int], bool]:
    done: list[int] = []
    chained = [r for r in rows if r.kind == INTAKE]
    stuck = False
    if chained and intake is not None:
        try:
            # labelled with the chained payload's id, so `cirro payload state` shows it QUEUED
            intake.send_batch(
                [r.body for r in chained], payload_ids=[r.topic or None for r in chained]
            )
            done.extend(r.seq for r in chained)
        except Exception as exc:
            stuck = True
            logger.warning("chained payloads wait in the outbox: the intake refused them (%s)", exc)
            for r in chained:
                warnings[r.payload_id].append(
                    f"next payload not sent yet ({type(exc).__name__}: {exc}); "
                    "it waits in the outbox and is sent later"
                )
    elif chained:  # nowhere to send them: the update rules write none without an intake
        done.extend(r.seq for r in chained)
    for r in rows:
        if r.kind != NOTIFY:
            if r.kind != INTAKE:  # written by a newer cirrostratus: not ours to keep
                logger.warning("outbox row %d of unknown kind %r dropped", r.seq, r.kind)
                done.append(r.seq)
            continue
        done.append(r.seq)
        if notifier is None:
            continue
        try:
            body = orjson.loads(r.body)
            notifier.publish(r.topic, body["message"], body.get("attributes"))
        except Exception as exc:
            warnings[r.payload_id].append(f"notification failed ({type(exc).__name__}: {exc})")
    return done, stuck


def pending(store: StateStore) -> bool:
    """Whether anything waits in the outbox."""
    return bool(store.outbox(1))
