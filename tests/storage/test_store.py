from __future__ import annotations

from pathlib import Path

import pytest

from cirrostratus.storage import LocalStore, open_store, read_url
from cirrostratus.storage.store import StoreError


def test_local_round_trip_by_key_and_url(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "payloads")
    url = store.put_bytes("a/b/input.json", b'{"x": 1}')
    assert url.startswith("file://")
    assert store.get_bytes("a/b/input.json") == b'{"x": 1}'
    assert store.get_bytes(url) == b'{"x": 1}'
    assert read_url(url) == b'{"x": 1}'
    assert store.exists(url) and not store.exists("a/b/missing.json")


def test_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(StoreError, match="escapes"):
        store.put_bytes("../outside.json", b"{}")


def test_missing_object_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no object at"):
        LocalStore(tmp_path).get_bytes("nope.json")


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_store(tmp_path), LocalStore)
    assert isinstance(open_store(tmp_path.as_uri()), LocalStore)
    memory = open_store("memory://bucket/prefix")
    url = memory.put_bytes("k.json", b"1")
    assert url == "memory://bucket/prefix/k.json"
    assert memory.get_bytes("k.json") == b"1"
    assert memory.get_bytes(url) == b"1"


def test_locations_default_under_dot_cirro_and_honour_overrides(tmp_path: Path) -> None:
    from cirrostratus.storage.locations import Locations

    loc = Locations.for_project(tmp_path, env={})
    assert loc.root == tmp_path / ".cirro"
    assert loc.payload_url == (tmp_path / ".cirro" / "payloads").as_uri()
    env = loc.cirrus_environment()
    assert env["CIRRUS_DATA_BUCKET"] == (tmp_path / ".cirro" / "data").as_uri()

    over = Locations.for_project(
        tmp_path, env={"CIRRUS_DATA_BUCKET": "s3://my-data/", "CIRRUS_PAYLOAD_BUCKET": "pl"}
    )
    assert over.data_url == "s3://my-data"
    assert over.payload_url == (tmp_path / "pl").as_uri()
