"""Pure ASGI middleware: Cirrus's CORS headers on every answer, and the request body limit.

Plain ASGI (not Starlette's BaseHTTPMiddleware) so streamed answers — logs, the event
stream — pass through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

#: What Cirrus's API answers on every response.
CORS = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-credentials", b"true")]
PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"authorization, content-type, last-event-id"),
    (b"access-control-max-age", b"600"),
]


async def _reply(send: Send, status: int, body: dict[str, Any], extra: list[Any]) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": data})


class Guard:
    """CORS headers, OPTIONS preflight, and 413 for bodies over `max_body` bytes."""

    def __init__(self, app: App, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": CORS + PREFLIGHT})
            await send({"type": "http.response.body", "body": b""})
            return
        limit = self.max_body
        too_large = {
            "error": f"the request body is over {limit} bytes; send fewer payloads at once"
        }
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _reply(send, 413, too_large, CORS)
                return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            # read the body first (it is bounded): a body over the limit is refused before
            # any route sees it, whatever its Content-Length claimed
            chunks: list[bytes] = []
            seen = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunk = message.get("body", b"")
                seen += len(chunk)
                if seen > limit:
                    await _reply(send, 413, too_large, CORS)
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            receive = replay

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *CORS]}
            await send(message)

        await self.app(scope, receive, with_cors)
