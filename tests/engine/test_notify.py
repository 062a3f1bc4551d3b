"""Notifiers: JSON lines on disk, webhooks with retries (a local http.server), fan-out."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cirrostratus.engine.notify import (
    FanoutNotifier,
    JsonLinesNotifier,
    NotificationError,
    Notifier,
    NullNotifier,
    WebhookNotifier,
)


class Hook:
    """A local webhook receiver answering with a scripted list of status codes."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = codes
        self.bodies: list[dict] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                code = hook.codes.pop(0) if hook.codes else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_factory() -> Iterator:
    hooks: list[Hook] = []

    def make(codes: list[int]) -> Hook:
        hooks.append(Hook(codes))
        return hooks[-1]

    yield make
    for h in hooks:
        h.close()


def test_json_lines(tmp_path: Path) -> None:
    n = JsonLinesNotifier(tmp_path / "notifications")
    assert isinstance(n, Notifier)
    n.publish("failed", {"payload_id": "a"}, {"error": "E: x"})
    n.publish("failed", {"payload_id": "b"})
    lines = (tmp_path / "notifications" / "failed.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["topic"] == "failed" and first["attributes"] == {"error": "E: x"}
    assert first["message"] == {"payload_id": "a"} and first["time"].endswith("+00:00")
    assert [x["message"]["payload_id"] for x in n.read("failed")] == ["a", "b"]
    assert n.read("invalid") == []
    with pytest.raises(NotificationError, match="plain name"):
        n.publish("../escape", {})


def test_json_lines_from_many_threads_never_interleave(tmp_path: Path) -> None:
    n = JsonLinesNotifier(tmp_path)
    big = {"blob": "x" * 10_000}

    def work() -> None:
        for _ in range(50):
            n.publish("published", big)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(n.read("published")) == 200  # each line parses


def test_webhook_retries_5xx_then_delivers(hook_factory) -> None:
    hook = hook_factory([500, 503])
    sleeps: list[float] = []
    n = WebhookNotifier({"failed": [hook.url]}, retries=3, backoff=0.1, sleep=sleeps.append)
    n.publish("failed", {"payload_id": "a"}, {"error": "x"})
    assert len(hook.bodies) == 3
    assert hook.bodies[-1]["message"] == {"payload_id": "a"}
    assert hook.bodies[-1]["attributes"] == {"error": "x"}
    assert sleeps == [0.1, 0.2]
    n.publish("invalid", {"payload_id": "b"})  # nobody subscribed to invalid
    assert len(hook.bodies) == 3


def test_webhook_gives_up_after_its_retries(hook_factory) -> None:
    hook = hook_factory([500, 500, 500])
    n = WebhookNotifier([hook.url], retries=2, sleep=lambda s: None)
    with pytest.raises(NotificationError, match="after 3 attempt"):
        n.publish("published", {"id": "x"})
    assert len(hook.bodies) == 3


def test_webhook_does_not_retry_a_4xx(hook_factory) -> None:
    hook = hook_factory([404])
    n = WebhookNotifier([hook.url], retries=5, sleep=lambda s: None)
    with pytest.raises(NotificationError, match="HTTP 404"):
        n.publish("failed", {})
    assert len(hook.bodies) == 1


def test_webhook_retries_429(hook_factory) -> None:
    hook = hook_factory([429])
    WebhookNotifier([hook.url], sleep=lambda s: None).publish("failed", {})
    assert len(hook.bodies) == 2


def test_webhook_connection_refused(hook_factory) -> None:
    hook = hook_factory([])
    url = hook.url
    hook.close()
    n = WebhookNotifier([url], retries=1, timeout=1, sleep=lambda s: None)
    with pytest.raises(NotificationError, match="2 attempt"):
        n.publish("failed", {})


def test_fanout_keeps_going_past_a_failure(tmp_path: Path, hook_factory) -> None:
    hook = hook_factory([400])
    lines = JsonLinesNotifier(tmp_path)
    fan = FanoutNotifier([WebhookNotifier([hook.url], sleep=lambda s: None), lines, NullNotifier()])
    with pytest.raises(NotificationError, match="WebhookNotifier"):
        fan.publish("failed", {"payload_id": "a"})
    assert len(lines.read("failed")) == 1
