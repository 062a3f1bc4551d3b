"""The process Lambda: SQS batches from the ProcessQueue → the process rules → Step Functions.

The same `engine.process.process` the local engine runs, with the DynamoDB state store, the
S3 payload store and the Step Functions runner. It answers with partial batch failures
(`{"batchItemFailures": [...]}`; the event source mapping needs
`FunctionResponseTypes: [ReportBatchItemFailures]`): a message is listed — and so delivered
again — only when something may succeed on a retry: its input could not be stored, or its
execution could not start for a reason other than a missing state machine (throttling, a
network error; the record is FAILED meanwhile and is claimed again on redelivery).
An invalid payload is sent straight to the queue's dead-letter queue with its error (not
retried until SQS gives up, as Cirrus did). A workflow without a state machine is recorded
FAILED with the reason, as locally, and not retried.

Invoked directly (not by SQS), the event is a payload or any envelope; the answer is what
process did (`started`, `skipped`, `dropped`, `failed`, `invalid`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, cast

from cirrostratus.aws.handlers import env
from cirrostratus.intake import Body, IntakeQueue, Message

logger = logging.getLogger(__name__)


class LambdaBatch:
    """The part of an IntakeQueue the process rules settle a batch through, for Lambda.

    Deleting is the Lambda runtime's job (every message not listed as failed); releasing
    lists the message as a failure; dead letters go to the queue's dead-letter queue.
    """

    def __init__(self, messages: Sequence[Message], queue: Any) -> None:
        self.by_receipt = {m.receipt: m.id for m in messages}
        self.queue = queue
        self.failures: list[str] = []

    def delete(self, receipt: str) -> bool:
        return True

    def delete_batch(self, receipts: Sequence[str]) -> int:
        return len(receipts)

    def release(self, receipt: str, *, error: str | None = None, delay: float = 0) -> bool:
        logger.warning("message %s delivered again: %s", self.by_receipt.get(receipt), error)
        self.failures.append(self.by_receipt[receipt])
        return True

    def dead_letter(self, body: Body, error: str) -> str:
        if self.queue is None:
            logger.error("invalid payload dropped (no CIRRUS_PROCESS_QUEUE_URL): %s", error)
            return ""
        try:
            return str(self.queue.dead_letter(body, error))
        except Exception as exc:
            logger.error("invalid payload not dead-lettered (%s): %s", exc, error)
            return ""


def messages_of(records: Iterable[dict[str, Any]]) -> list[Message]:
    """SQS event records as intake Messages."""
    out = []
    for r in records:
        attrs = r.get("attributes") or {}
        out.append(
            Message(
                id=str(r["messageId"]),
                body=str(r.get("body", "")).encode("utf-8"),
                receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
                receipt=str(r.get("receiptHandle") or r["messageId"]),
                sent=int(attrs.get("SentTimestamp", 0)) / 1000,
            )
        )
    return out


class TransientStarts:
    """The runner, noting each start that failed for a reason a retry may cure (throttling,
    a network error: anything but a missing state machine); the rules still record it FAILED,
    and the handler has its message delivered again, where the FAILED record is claimed anew."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.failed: list[str] = []

    def start(self, payload: Any, execution_id: str) -> None:
        from cirrostratus.engine.stepfunctions import WorkflowNotFound

        try:
            self.runner.start(payload, execution_id)
        except WorkflowNotFound:
            raise
        except Exception:
            self.failed.append(payload.id)
            raise


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    from cirrostratus.engine.process import process

    runner = TransientStarts(env.runner())
    common: dict[str, Any] = {
        "store": env.state_store(),
        "payload_store": env.payload_store(),
        "runner": runner,
        "execution_for": runner.runner.execution_for,
    }
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list) and records and records[0].get("eventSource") == "aws:sqs":
        messages = messages_of(records)
        batch = LambdaBatch(messages, env.process_queue(required=False))
        for message in messages:  # one at a time: a transient failure names its message
            before = len(runner.failed)
            result = process([message], intake=cast(IntakeQueue, batch), **common)
            logger.info("process %s: %s", message.id, result.to_dict())
            if len(runner.failed) > before and message.id not in batch.failures:
                batch.failures.append(message.id)
        return {"batchItemFailures": [{"itemIdentifier": i} for i in batch.failures]}
    return process([event], **common).to_dict()
