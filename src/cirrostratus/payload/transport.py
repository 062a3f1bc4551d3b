"""The claim check: a payload too big for a message travels as `{"url": ...}`.

AWS limits what crosses a boundary (SQS and SNS messages, Step Functions state data,
Batch parameters), so Cirrus stores a large payload and passes its URL instead. We do the
same everywhere, locally too, so what runs here runs there. JSON is encoded once, with
orjson, and the same bytes are what gets stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from cirrostratus.payload.errors import PayloadError
from cirrostratus.payload.readers import Reader, read_url

DEFAULT_THRESHOLD = 120_000
"""Bytes of JSON above which a payload travels by URL (SQS allows 256 KiB, less overhead)."""


class PayloadStore(Protocol):
    """The part of an object store the payload package needs."""

    def put_bytes(self, key: str, data: bytes) -> str: ...
    def get_bytes(self, key_or_url: str) -> bytes: ...


class _Putter(Protocol):
    def put_bytes(self, key: str, data: bytes) -> str: ...


def encode(obj: Any) -> bytes:
    """Compact JSON bytes (orjson); PayloadError when `obj` is not JSON data."""
    try:
        return orjson.dumps(obj)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise PayloadError(f"payload cannot be encoded as JSON ({exc})") from None


def decode(data: bytes | str, where: str = "payload") -> Any:
    """Parse JSON text; PayloadError naming `where` when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"{where} is not valid JSON ({exc})") from None


def to_transport_bytes(
    payload: Mapping[str, Any], store: _Putter, key: str, threshold: int = DEFAULT_THRESHOLD
) -> bytes:
    """The JSON to send for `payload`: itself if at most `threshold` bytes, else a pointer.

    A larger payload is written with `store.put_bytes(key, data)` and `{"url": <url>}` is
    encoded instead. The payload is encoded exactly once.
    """
    data = encode(payload)
    if len(data) <= threshold:
        return data
    return orjson.dumps({"url": store.put_bytes(key, data)})


def to_transport(
    payload: dict[str, Any], store: _Putter, key: str, threshold: int = DEFAULT_THRESHOLD
) -> dict[str, Any]:
    """`payload` itself if its JSON is at most `threshold` bytes, else `{"url": <stored>}`."""
    data = encode(payload)
    if len(data) <= threshold:
        return payload
    return {"url": store.put_bytes(key, data)}


def pointer_url(obj: Any) -> str | None:
    """The URL of a claim check (`{"url": ...}` or `{"href": ...}`), or None.

    A dict that carries `process` or `features` is a payload, never a pointer.
    """
    if not isinstance(obj, dict) or "process" in obj or "features" in obj:
        return None
    url = obj.get("url")
    if url is None:
        url = obj.get("href")
    return url if isinstance(url, str) and url else None


def fetch(url: str, reader: Reader, where: str = "url") -> Any:
    """Read and parse the JSON at `url`; any failure becomes a PayloadError naming it."""
    try:
        data = reader(url)
    except PayloadError:
        raise
    except Exception as exc:  # a reader may fail in any way; report it, never a traceback
        raise PayloadError(
            f"{where} {url!r} could not be read ({type(exc).__name__}: {exc})"
        ) from None
    return decode(data, f"the payload stored at {url!r}")


def resolve(obj: Any, reader: Reader | None = None) -> dict[str, Any]:
    """Follow a `{"url"|"href": ...}` claim check to the payload it points at.

    Anything else is returned as it is. The default reader reads local paths and
    `file://` URLs.
    """
    read = reader or read_url
    url = pointer_url(obj)
    hops = 0
    while url is not None:
        hops += 1
        if hops > 5:
            raise PayloadError(f"claim check {url!r} points at another claim check 5 times over")
        obj = fetch(url, read)
        url = pointer_url(obj)
    if not isinstance(obj, dict):
        raise PayloadError(f"a stored payload must be a JSON object (got {type(obj).__name__})")
    return obj
