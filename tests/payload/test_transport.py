from __future__ import annotations

from typing import Any

import orjson
import pytest

from cirrostratus.payload import (
    Payload,
    PayloadError,
    encode,
    resolve,
    to_transport,
    to_transport_bytes,
)


class MemoryStore:
    """An in-memory stand-in for the object store (anything with put_bytes/get_bytes)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key: str, data: bytes) -> str:
        url = f"mem://payloads/{key}"
        self.objects[url] = data
        return url

    def get_bytes(self, key_or_url: str) -> bytes:
        return self.objects[key_or_url]


def test_small_payload_travels_as_itself(test_payload: dict[str, Any]) -> None:
    store = MemoryStore()
    assert to_transport(test_payload, store, "k") is test_payload
    assert orjson.loads(to_transport_bytes(test_payload, store, "k")) == test_payload
    assert store.objects == {}


def test_threshold_is_inclusive(test_payload: dict[str, Any]) -> None:
    size = len(encode(test_payload))
    store = MemoryStore()
    assert to_transport(test_payload, store, "k", threshold=size) is test_payload
    assert to_transport(test_payload, store, "k", threshold=size - 1) == {"url": "mem://payloads/k"}


def test_large_payload_is_stored_and_resolves_back(test_payload: dict[str, Any]) -> None:
    store = MemoryStore()
    test_payload["features"] *= 400
    assert len(encode(test_payload)) > 120_000
    pointer = to_transport(test_payload, store, "c/workflow-w/i/input.json")
    assert pointer == {"url": "mem://payloads/c/workflow-w/i/input.json"}
    assert resolve(pointer, store.get_bytes) == test_payload
    assert orjson.loads(to_transport_bytes(test_payload, store, "again")) == {
        "url": "mem://payloads/again"
    }


def test_resolve_href_and_passthrough(test_payload: dict[str, Any]) -> None:
    store = MemoryStore()
    url = store.put_bytes("p", encode(test_payload))
    assert resolve({"href": url}, store.get_bytes) == test_payload
    assert resolve(test_payload, store.get_bytes) is test_payload


def test_resolve_errors_name_the_url() -> None:
    store = MemoryStore()
    with pytest.raises(PayloadError, match=r"url 'mem://nothing' could not be read \(KeyError"):
        resolve({"url": "mem://nothing"}, store.get_bytes)
    store.objects["mem://list"] = b"[1]"
    with pytest.raises(PayloadError, match="a stored payload must be a JSON object"):
        resolve({"url": "mem://list"}, store.get_bytes)
    store.objects["mem://loop"] = b'{"url": "mem://loop"}'
    with pytest.raises(PayloadError, match="points at another claim check"):
        resolve({"url": "mem://loop"}, store.get_bytes)


def test_unencodable_payload_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="cannot be encoded as JSON"):
        to_transport({"x": object()}, MemoryStore(), "k")


def test_default_reader_reads_file_urls(tmp_path: Any, test_payload: dict[str, Any]) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(encode(test_payload))
    assert (
        Payload.from_dict(resolve({"url": path.as_uri()})).id == Payload.from_dict(test_payload).id
    )
    assert resolve({"url": str(path)}) == test_payload
    with pytest.raises(PayloadError, match="only local paths and file:// URLs"):
        resolve({"url": "s3://bucket/p.json"})
