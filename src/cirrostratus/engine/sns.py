"""The Notifier on Amazon SNS: Cirrus's failed, invalid and publish topics.

`topics` maps our topic names (`failed`, `invalid`, `published`) to topic ARNs; a topic
without an ARN is not published (Cirrus publishes only when its `CIRRUS_*_TOPIC_ARN` is
set). Messages are JSON; attributes become SNS message attributes — numbers as `Number`,
everything else as `String`, empty values left out (SNS refuses them), at most 10 (SNS's
limit, as Cirrus's publish keeps to).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from cirrostratus.engine.notify import FAILED, INVALID, PUBLISHED
from cirrostratus.state.dynamodb_client import make_client

#: The env variable holding each topic's ARN (Cirrus's names).
TOPIC_ENV = {
    FAILED: "CIRRUS_FAILED_TOPIC_ARN",
    INVALID: "CIRRUS_INVALID_TOPIC_ARN",
    PUBLISHED: "CIRRUS_PUBLISH_TOPIC_ARN",
}
MAX_ATTRIBUTES = 10


def message_attributes(attributes: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """SNS MessageAttributes from plain values (first 10 non-empty ones)."""
    out: dict[str, dict[str, str]] = {}
    for name, value in (attributes or {}).items():
        if value is None or value == "" or len(out) >= MAX_ATTRIBUTES:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = {"DataType": "Number", "StringValue": repr(value)}
        else:
            out[name] = {"DataType": "String", "StringValue": str(value)}
    return out


class SnsNotifier:
    """Publishes each notification to the SNS topic its name maps to."""

    def __init__(
        self,
        topics: Mapping[str, str | None],
        *,
        client: Any = None,
        session: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.topics = {k: v for k, v in topics.items() if v}
        self.client = make_client(
            "sns", client=client, session=session, endpoint_url=endpoint_url, region=region
        )

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, only: tuple[str, ...] = (FAILED, INVALID, PUBLISHED)
    ) -> SnsNotifier:
        """Topics from Cirrus's variables; `only` restricts which topics are published."""
        return cls({t: env.get(TOPIC_ENV[t]) for t in only})

    def publish(
        self, topic: str, message: Mapping[str, Any], attributes: Mapping[str, Any] | None = None
    ) -> None:
        arn = self.topics.get(topic) or (topic if topic.startswith("arn:aws:sns:") else None)
        if arn is None:
            return
        self.client.publish(
            TopicArn=arn,
            Message=orjson.dumps(message).decode("utf-8"),
            MessageAttributes=message_attributes(attributes),
        )
