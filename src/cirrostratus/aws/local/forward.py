"""The ProcessQueue feeds the engine while `cirro serve --aws local` runs.

On AWS, whatever lands in Cirrus's ProcessQueue (a feeder's payloads, a task chaining work by
hand to `CIRRUS_PROCESS_QUEUE_URL`) is picked up by the process lambda. Locally the engine's
intake is its own SQLite queue, so a serving engine moves each message from moto's
ProcessQueue into the intake (then deletes it from moto): the body is what Cirrus's process
reads — a payload, or a `{"url": …}` claim check the process rules follow.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

logger = logging.getLogger(__name__)
WAIT_S = 1  # SQS long poll: an idle serve asks moto once a second


def _label(body: bytes) -> str | None:
    """The payload id a message carries, for `cirro payload state` while it waits."""
    from cirrostratus.engine.process import derive_id

    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return derive_id(payload) if isinstance(payload, dict) else None


def process_queue_service(local: Any) -> Any:
    """An engine service (see LocalEngine.serve) that forwards `local`'s ProcessQueue, or None
    when the project has no ProcessQueue."""
    url = local.environment.get("CIRRUS_PROCESS_QUEUE_URL")
    if not url:
        return None

    async def forward(engine: Any, stop: asyncio.Event) -> None:
        sqs = local.client("sqs")
        while not stop.is_set():
            try:
                got = await asyncio.to_thread(
                    sqs.receive_message,
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=WAIT_S,
                )
                messages = got.get("Messages") or []
                if not messages:
                    continue
                bodies = [m["Body"].encode() for m in messages]
                engine.intake.send_batch(bodies, payload_ids=[_label(b) for b in bodies])
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ]
                await asyncio.to_thread(sqs.delete_message_batch, QueueUrl=url, Entries=entries)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # moto gone at shutdown, a full disk: try again later
                logger.warning("ProcessQueue not forwarded: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(WAIT_S)

    return forward


def hand_over(local: Any, intake: Any) -> int:
    """Move what still waits in `local`'s ProcessQueue into `intake` before moto stops.

    A `cirro run` runs its own payloads and ends; a message a task sent to the ProcessQueue
    meanwhile would die with moto's in-memory queue. Queued in the engine's intake instead,
    the next `cirro run` or `cirro serve` runs it. Returns how many messages moved.
    """
    url = local.environment.get("CIRRUS_PROCESS_QUEUE_URL")
    if not url:
        return 0
    sqs = local.client("sqs")
    moved = 0
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages") or []
        if not messages:
            return moved
        bodies = [m["Body"].encode() for m in messages]
        intake.send_batch(bodies, payload_ids=[_label(b) for b in bodies])
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        moved += len(messages)
