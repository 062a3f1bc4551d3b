"""Object keys always fit, and every URL a store gives opens with fsspec and pystac."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cirrostratus.payload import payload_id
from cirrostratus.storage import LocalStore, StoreError, object_key, payload_key, read_url
from cirrostratus.storage.keys import MAX_KEY_BYTES, MAX_SEGMENT_BYTES, escape_segment, url_path

NAMES = ("input.json", "output.json", "chained-from-3f1c2a8e-0000-4000-8000-000000000000.json")

item_ids = st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=60)
any_id = st.one_of(
    st.text(max_size=3000),
    st.builds(lambda ids: payload_id("c", "w", ids), item_ids),
    st.builds(
        lambda n: payload_id("col", "wf", [f"item-{i}" for i in range(n)]), st.integers(0, 400)
    ),
    st.builds(lambda seg: f"c/workflow-w/{seg}", st.text(min_size=60, max_size=400)),
)


def _fits(key: str) -> None:
    assert len(key.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES
    for segment in key.split("/"):
        assert segment not in ("", ".", "..")
        assert len(segment.encode("utf-8", "surrogatepass")) <= MAX_SEGMENT_BYTES


@settings(max_examples=300, deadline=None)
@given(pid=any_id, name=st.sampled_from(NAMES))
def test_any_payload_id_gets_a_key_that_fits_and_is_stored_as_is(pid: str, name: str) -> None:
    key = payload_key(pid, name)
    _fits(key)
    assert key == payload_key(pid, name)  # deterministic
    assert object_key(key) == key  # the store keeps it unchanged: one place decides


@settings(max_examples=300, deadline=None)
@given(a=any_id, b=any_id)
def test_distinct_payload_ids_get_distinct_keys(a: str, b: str) -> None:
    if a != b:
        assert payload_key(a, "input.json") != payload_key(b, "input.json")


def test_ordinary_ids_keep_the_cirrus_layout() -> None:
    for pid in (
        "sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A",
        "a/b/workflow-my_flow-2/S1A:IW:001",
        "c/workflow-w/Ünïcødé_日本語_🚀 +@",
    ):
        assert payload_key(pid, "input.json") == f"{pid}/input.json"


def test_a_long_id_keeps_a_readable_prefix_and_a_digest() -> None:
    pid = payload_id("sentinel-2", "mirror", [f"S2B_{i:05d}" for i in range(10_000)])
    key = payload_key(pid, "output.json")
    _fits(key)
    assert key.startswith("sentinel-2/workflow-mirror/S2B_00000/S2B_00001/")
    assert key.endswith("/output.json") and len(key) < 250
    # the same items in another order are the same payload, so the same key
    shuffled = payload_id("sentinel-2", "mirror", [f"S2B_{i:05d}" for i in reversed(range(10_000))])
    assert payload_key(shuffled, "output.json") == key


def test_ids_that_would_clash_as_paths_are_kept_apart() -> None:
    keys = {
        payload_key(p, "input.json")
        for p in ("c/workflow-w/a/b", "c/workflow-w/a//b", "c/workflow-w/a/./b")
    }
    assert len(keys) == 3
    with pytest.raises(StoreError, match="escapes"):
        object_key("c/../x")
    assert payload_key("c/workflow-w/..", "input.json").startswith("c/workflow-w/_/~")


def test_segments_are_escaped_only_where_an_href_needs_it() -> None:
    assert escape_segment("S1A:IW:001 +@Ü🚀") == "S1A:IW:001 +@Ü🚀"
    assert escape_segment("a?b#c%d\\e\nf") == "a%3Fb%23c%25d%5Ce%0Af"
    assert escape_segment("a::b:::c") == "a:%3Ab:%3A%3Ac"  # fsspec reads `::` as a URL chain


def test_a_long_segment_keeps_its_prefix_and_extension() -> None:
    long = "x" * 300 + ".json"
    (stored,) = object_key(long).split("/")
    assert len(stored.encode()) <= MAX_SEGMENT_BYTES and stored.startswith("x" * 100)
    assert stored.endswith(".json") and stored != object_key("x" * 301 + ".json")
    wide = "日" * 200  # 600 bytes: cut at a character boundary
    assert len(object_key(wide).encode()) <= MAX_SEGMENT_BYTES


def test_a_key_over_s3s_limit_is_a_clear_error_not_a_recursion(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    deep = "/".join(f"item-{i:05d}" for i in range(1200)) + "/input.json"
    with pytest.raises(StoreError, match="1024"):
        store.put_bytes(deep, b"{}")


def _stac_item(item_id: str) -> bytes:
    return json.dumps(
        {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": item_id,
            "geometry": None,
            "properties": {"datetime": "2024-07-04T00:00:00Z"},
            "assets": {},
            "links": [],
        }
    ).encode()


ODD = ["S1A:IW:001", "a b", "x+y@z", "q?r#s%t", "Ünïcødé_日本語_🚀", "a::b", "tab\there"]


@pytest.mark.parametrize("item_id", ODD)
def test_urls_open_with_fsspec_and_pystac(tmp_path: Path, item_id: str) -> None:
    import pystac

    store = LocalStore(tmp_path / "my data")  # a space in the root too
    url = store.put_bytes(f"col/{item_id}/{item_id}.json", _stac_item(item_id))
    assert url == store.url(f"col/{item_id}/{item_id}.json")
    with fsspec.open(url, "rb") as fh:
        assert json.loads(fh.read())["id"] == item_id
    assert pystac.Item.from_file(url).id == item_id
    assert read_url(url) == store.get_bytes(url) == _stac_item(item_id)


def test_a_percent_encoded_url_from_an_older_version_still_reads(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "my data")
    url = store.put_bytes("c/S1A:IW:001.json", b"{}")
    old = (tmp_path / "my data" / "c" / "S1A:IW:001.json").as_uri()
    assert "%20" in old and old != url
    assert read_url(old) == b"{}" and store.get_bytes(old) == b"{}"
    assert url_path(url) == str(tmp_path / "my data" / "c" / "S1A:IW:001.json")
