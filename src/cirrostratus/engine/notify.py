"""Telling subscribers what happened: failed, invalid and published payloads.

The Notifier protocol is Cirrus's SNS topics (FailedTopic, InvalidTopic, PublishTopic) in
miniature: `publish(topic, message, attributes)`. Locally every notification is appended as
one JSON line to `.cirro/notifications/<topic>.jsonl`; webhooks (stdlib urllib, retried with
backoff) can be added beside it with `FanoutNotifier`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

FAILED = "failed"
INVALID = "invalid"
PUBLISHED = "published"
TOPICS = (FAILED, INVALID, PUBLISHED)


class NotificationError(Exception):
    """A notification that could not be delivered (after its retries)."""


@runtime_checkable
class Notifier(Protocol):
    def publish(
        self, topic: str, message: Mapping[str, Any], attributes: Mapping[str, str] | None = None
    ) -> None: ...


def envelope(
    topic: str, message: Mapping[str, Any], attributes: Mapping[str, str] | None
) -> dict[str, Any]:
    """What is written or POSTed: the topic, when, the attributes and the message."""
    return {
        "topic": topic,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "attributes": dict(attributes or {}),
        "message": message,
    }


class NullNotifier:
    """Drops every notification (runs that nobody subscribes to)."""

    def publish(
        self, topic: str, message: Mapping[str, Any], attributes: Mapping[str, str] | None = None
    ) -> None:
        return None


class JsonLinesNotifier:
    """Appends each notification as one line to `<directory>/<topic>.jsonl`.

    Each line is written with a single `write` on a file opened O_APPEND, so lines from
    several processes never interleave.
    """

    def __init__(self, directory: str | os.PathLike[str] = ".cirro/notifications") -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._fds: dict[str, int] = {}  # topic → descriptor, opened once (O_APPEND)

    def path(self, topic: str) -> Path:
        if not topic or "/" in topic or topic.startswith("."):
            raise NotificationError(f"topic {topic!r} must be a plain name such as {FAILED!r}")
        return self.directory / f"{topic}.jsonl"

    def publish(
        self, topic: str, message: Mapping[str, Any], attributes: Mapping[str, str] | None = None
    ) -> None:
        line = orjson.dumps(envelope(topic, message, attributes)) + b"\n"
        with self._lock:
            fd = self._fds.get(topic)
            if fd is None:
                target = self.path(topic)
                target.parent.mkdir(parents=True, exist_ok=True)
                fd = self._fds[topic] = os.open(
                    target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
                )
            os.write(fd, line)

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def read(self, topic: str) -> list[dict[str, Any]]:
        """Every notification published to `topic` so far, oldest first."""
        target = self.path(topic)
        if not target.exists():
            return []
        return [orjson.loads(x) for x in target.read_bytes().splitlines() if x.strip()]


class WebhookNotifier:
    """POSTs each notification as JSON to the URLs subscribed to its topic.

    `urls` maps a topic to its URLs, or is a plain list subscribed to every topic. A
    delivery that fails to connect, or gets a 429 or 5xx answer, is retried `retries` times
    with exponential backoff (`backoff`, doubled each time); a 4xx answer is not retried.
    """

    def __init__(
        self,
        urls: Mapping[str, Sequence[str]] | Sequence[str],
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.urls = urls
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.sleep = sleep

    def _targets(self, topic: str) -> Sequence[str]:
        if isinstance(self.urls, Mapping):
            return self.urls.get(topic, ())
        return self.urls

    def publish(
        self, topic: str, message: Mapping[str, Any], attributes: Mapping[str, str] | None = None
    ) -> None:
        body = orjson.dumps(envelope(topic, message, attributes))
        errors = []
        for url in self._targets(topic):
            try:
                self._post(url, body)
            except NotificationError as exc:
                errors.append(str(exc))
        if errors:
            raise NotificationError("; ".join(errors))

    def _post(self, url: str, body: bytes) -> None:
        delay = self.backoff
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(delay)
                delay *= 2
            request = urllib.request.Request(url, data=body, headers=self.headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                return
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code != 429 and exc.code < 500:
                    break
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
        raise NotificationError(f"webhook {url} failed after {attempt + 1} attempt(s): {last}")


class FanoutNotifier:
    """Publishes to several notifiers; one failing does not stop the others."""

    def __init__(self, notifiers: Sequence[Notifier]) -> None:
        self.notifiers = list(notifiers)

    def publish(
        self, topic: str, message: Mapping[str, Any], attributes: Mapping[str, str] | None = None
    ) -> None:
        errors = []
        for notifier in self.notifiers:
            try:
                notifier.publish(topic, message, attributes)
            except Exception as exc:
                errors.append(f"{type(notifier).__name__}: {exc}")
        if errors:
            raise NotificationError("; ".join(errors))
