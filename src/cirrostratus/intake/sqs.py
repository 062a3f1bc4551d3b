"""The IntakeQueue on Amazon SQS: Cirrus's ProcessQueue and its dead-letter queue.

SQS does the leasing (visibility timeout) and the dead-lettering (the queue's RedrivePolicy,
`maxReceiveCount`) itself, so `fail` only makes a message visible again: SQS moves it to
the dead-letter queue once it has been received too often. What SQS cannot do, this says:
`release_all` cannot find in-flight messages (it returns 0: their visibility timeout frees
them), and a released message's error is not kept (SQS has nowhere to keep it). Dead letters
are listed by receiving them with a short visibility timeout and making them visible again.
The dead-letter queue is the one in the RedrivePolicy (its URL built beside the queue's, so
no GetQueueUrl permission is needed) unless `dead_letter_url` is given.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from cirrostratus.intake.model import Body, DeadLetter, IntakeError, Message, QueueCounts, encode

_BATCH = 10  # SQS's batch limit
_MAX_DELAY = 900  # SQS's DelaySeconds limit
_ATTRIBUTE_LIMIT = 1024  # longer payload ids are not copied into a message attribute
PEEK_SECONDS = 5  # how long listing dead letters hides them


def _client(client: Any, session: Any, endpoint_url: str | None, region: str | None) -> Any:
    """An SQS client, boto3 imported only now (`AWS_ENDPOINT_URL` honoured by boto3)."""
    if client is not None:
        return client
    if session is None:
        import boto3

        session = boto3.session.Session()
    kwargs: dict[str, Any] = {"endpoint_url": endpoint_url} if endpoint_url else {}
    if region:
        kwargs["region_name"] = region
    return session.client("sqs", **kwargs)


def _text(body: Body) -> str:
    try:
        return encode(body).decode("utf-8")
    except UnicodeDecodeError:
        raise IntakeError("SQS messages are text: send JSON or UTF-8 bytes") from None


def _delay(delay: float) -> int:
    return max(0, min(_MAX_DELAY, round(delay)))


def queue_url_of(arn: str, beside: str) -> str:
    """The URL of queue `arn`, on the same endpoint as queue URL `beside`.

    Built rather than asked for (GetQueueUrl), so a role allowed only to send to the
    dead-letter queue can still find it: SQS URLs are `<endpoint>/<account>/<name>`.
    """
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise IntakeError(f"{arn!r} is not an SQS queue ARN")
    scheme, _, rest = beside.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{parts[4]}/{parts[5]}"


class SqsIntakeQueue:
    """An IntakeQueue over one SQS queue (and its dead-letter queue)."""

    def __init__(
        self,
        queue_url: str,
        *,
        dead_letter_url: str | None = None,
        client: Any = None,
        session: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        wait_seconds: int = 0,
    ) -> None:
        if not queue_url:
            raise IntakeError("no queue: set CIRRUS_PROCESS_QUEUE_URL to the process queue's URL")
        self.url = queue_url
        self.client = _client(client, session, endpoint_url, region)
        self.wait_seconds = wait_seconds
        self._dead_letter_url = dead_letter_url

    @property
    def dead_letter_url(self) -> str | None:
        """The dead-letter queue from the RedrivePolicy (looked up once), or None."""
        if self._dead_letter_url is None:
            attrs = self.client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["RedrivePolicy"]
            ).get("Attributes", {})
            policy = attrs.get("RedrivePolicy")
            if policy:
                arn = str(orjson.loads(policy)["deadLetterTargetArn"])
                self._dead_letter_url = queue_url_of(arn, self.url)
        return self._dead_letter_url

    def _dlq(self) -> str:
        url = self.dead_letter_url
        if url is None:
            raise IntakeError(
                f"queue {self.url} has no dead-letter queue (no RedrivePolicy); "
                "give dead_letter_url or add a RedrivePolicy"
            )
        return url

    # --- sending -----------------------------------------------------------------------

    def send(self, body: Body, *, delay: float = 0) -> str:
        resp = self.client.send_message(
            QueueUrl=self.url, MessageBody=_text(body), DelaySeconds=_delay(delay)
        )
        return str(resp["MessageId"])

    def send_batch(
        self,
        bodies: Iterable[Body],
        *,
        delay: float = 0,
        payload_ids: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Send in batches of ten; a payload id rides along as the `payload_id` attribute."""
        texts = [_text(b) for b in bodies]
        ids: list[str] = []
        for start in range(0, len(texts), _BATCH):
            entries = []
            for i in range(start, min(start + _BATCH, len(texts))):
                entry: dict[str, Any] = {
                    "Id": str(i),
                    "MessageBody": texts[i],
                    "DelaySeconds": _delay(delay),
                }
                pid = payload_ids[i] if payload_ids is not None else None
                if pid and len(pid) <= _ATTRIBUTE_LIMIT:
                    entry["MessageAttributes"] = {
                        "payload_id": {"DataType": "String", "StringValue": pid}
                    }
                entries.append(entry)
            resp = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            if resp.get("Failed"):
                failed = resp["Failed"][0]
                raise IntakeError(
                    f"SQS refused {len(resp['Failed'])} message(s) of a batch to {self.url}: "
                    f"{failed.get('Code')}: {failed.get('Message')}"
                )
            by_index = {int(s["Id"]): str(s["MessageId"]) for s in resp.get("Successful", [])}
            ids.extend(by_index[int(e["Id"])] for e in entries)
        return ids

    # --- receiving ---------------------------------------------------------------------

    def _receive(
        self, url: str, max_messages: int, visibility_timeout: float | None, wait: int
    ) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "QueueUrl": url,
            "MaxNumberOfMessages": max(1, min(_BATCH, max_messages)),
            "AttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
            "MessageAttributeNames": ["All"],
            "WaitTimeSeconds": wait,
        }
        if visibility_timeout is not None:
            kwargs["VisibilityTimeout"] = round(visibility_timeout)
        return list(self.client.receive_message(**kwargs).get("Messages", []))

    def receive(
        self, max_messages: int = 10, *, visibility_timeout: float | None = None
    ) -> list[Message]:
        """Up to `max_messages` (SQS gives at most 10 per call), leased for the timeout."""
        raw = self._receive(self.url, max_messages, visibility_timeout, self.wait_seconds)
        return [
            Message(
                id=str(m["MessageId"]),
                body=str(m["Body"]).encode("utf-8"),
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                receipt=str(m["ReceiptHandle"]),
                sent=int(m.get("Attributes", {}).get("SentTimestamp", 0)) / 1000,
            )
            for m in raw
        ]

    def delete(self, receipt: str) -> bool:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)
        return True

    def delete_batch(self, receipts: Sequence[str]) -> int:
        done = 0
        for start in range(0, len(receipts), _BATCH):
            chunk = receipts[start : start + _BATCH]
            resp = self.client.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)],
            )
            done += len(resp.get("Successful", []))
        return done

    def extend(self, receipt: str, seconds: float) -> bool:
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=round(seconds)
        )
        return True

    def release(self, receipt: str, *, error: str | None = None, delay: float = 0) -> bool:
        """Visible again after `delay` seconds (the error is not kept: SQS cannot)."""
        return self.extend(receipt, max(0.0, delay))

    def release_all(self) -> int:
        """SQS cannot list in-flight messages; their visibility timeout frees them."""
        return 0

    def fail(self, receipt: str, error: str) -> bool:
        """Make the message visible now; SQS dead-letters it after `maxReceiveCount`."""
        return self.release(receipt, error=error)

    # --- dead letters ------------------------------------------------------------------

    def dead_letter(self, body: Body, error: str) -> str:
        resp = self.client.send_message(
            QueueUrl=self._dlq(),
            MessageBody=_text(body),
            MessageAttributes={"error": {"DataType": "String", "StringValue": error or "-"}},
        )
        return str(resp["MessageId"])

    def _peek_dead(self, limit: int) -> list[dict[str, Any]]:
        """Receive dead letters (hidden for PEEK_SECONDS) until `limit` or none are left."""
        url = self._dlq()
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < limit:
            batch = self._receive(url, limit - len(seen), PEEK_SECONDS, 0)
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
        return list(seen.values())

    def _unhide(self, messages: Iterable[dict[str, Any]]) -> None:
        for m in messages:
            self.client.change_message_visibility(
                QueueUrl=self._dlq(), ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )

    def dead_letters(self, *, limit: int = 100, after: str | None = None) -> list[DeadLetter]:
        """Up to `limit` dead letters (in SQS's order; `after` is not supported by SQS)."""
        messages = self._peek_dead(limit)
        self._unhide(messages)
        now = time.time()
        out = []
        for m in messages:
            attrs = m.get("Attributes", {})
            error = m.get("MessageAttributes", {}).get("error", {}).get("StringValue")
            out.append(
                DeadLetter(
                    id=str(m["MessageId"]),
                    body=str(m["Body"]).encode("utf-8"),
                    receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
                    error=error,
                    sent=int(attrs.get("SentTimestamp", 0)) / 1000,
                    dead_at=now,
                )
            )
        return out

    def _take_dead(self, ids: Iterable[str] | None) -> list[dict[str, Any]]:
        wanted = None if ids is None else set(ids)
        messages = self._peek_dead(10_000)
        chosen = [m for m in messages if wanted is None or m["MessageId"] in wanted]
        self._unhide(m for m in messages if m not in chosen)
        return chosen

    def redrive(self, ids: Iterable[str] | None = None) -> int:
        """Send dead letters (all, or those `ids`) back to the queue."""
        chosen = self._take_dead(ids)
        for m in chosen:
            self.client.send_message(QueueUrl=self.url, MessageBody=m["Body"])
            self.client.delete_message(QueueUrl=self._dlq(), ReceiptHandle=m["ReceiptHandle"])
        return len(chosen)

    def purge_dead(self, ids: Iterable[str] | None = None) -> int:
        chosen = self._take_dead(ids)
        for m in chosen:
            self.client.delete_message(QueueUrl=self._dlq(), ReceiptHandle=m["ReceiptHandle"])
        return len(chosen)

    def counts(self) -> QueueCounts:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]

        def attrs(url: str) -> dict[str, str]:
            resp = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=names)
            return dict(resp.get("Attributes", {}))

        main = attrs(self.url)
        dlq = self.dead_letter_url
        dead = attrs(dlq) if dlq else {}
        return QueueCounts(
            visible=int(main.get(names[0], 0)),
            in_flight=int(main.get(names[1], 0)),
            delayed=int(main.get(names[2], 0)),
            dead=int(dead.get(names[0], 0)) + int(dead.get(names[1], 0)),
        )

    def close(self) -> None:
        return None
