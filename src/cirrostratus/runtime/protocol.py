"""The wire between the pool and its workers: 4-byte big-endian length, then an orjson body.

Requests are `[id, request_id, event]`; responses are `[id, ok, result_or_error, logs]`
where `logs` is `[[time, stream, message], ...]` or null. The first frame a worker reads is
its init record (what to import and how to describe itself to the handler).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import orjson

HEADER = struct.Struct(">I")


def encode(obj: Any) -> bytes:
    """One frame. Non-string dict keys are stringified, as `json.dumps` would."""
    body = orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    return HEADER.pack(len(body)) + body


class FrameBuffer:
    """Incremental decoder for frames arriving in arbitrary chunks (the parent side)."""

    __slots__ = ("_buf", "_off")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._off = 0

    def feed(self, data: bytes) -> Iterator[Any]:
        buf = self._buf
        buf += data
        off = self._off
        size = len(buf)
        while size - off >= 4:
            (length,) = HEADER.unpack_from(buf, off)
            end = off + 4 + length
            if end > size:
                break
            yield orjson.loads(memoryview(buf)[off + 4 : end])
            off = end
        if off:
            del buf[:off]
            off = 0
        self._off = off
