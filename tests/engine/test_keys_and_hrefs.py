"""Odd item ids publish items whose hrefs open; a payload of 10,000 items runs to COMPLETED."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import fsspec
import orjson
import pystac
import pytest

from cirrostratus.engine.local import LocalEngine
from cirrostratus.payload import payload_id
from cirrostratus.storage import StoreError, payload_key

from .conftest import make_payload

ODD_IDS = ["S1A:IW:001", "a b", "x+y@z", "q?r#s%t", "Ünïcødé_日本語_🚀", "a::b"]


def _with_items(payload: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    feature = payload["features"][0]
    payload["features"] = [{**copy.deepcopy(feature), "id": i} for i in ids]
    return payload


def _opens(href: str, item_id: str) -> None:
    assert pystac.Item.from_file(href).id == item_id
    with fsspec.open(href, "rb") as fh:
        assert orjson.loads(fh.read())["id"] == item_id


def test_odd_item_ids_publish_items_whose_hrefs_open(project: Path) -> None:
    engine = LocalEngine.open(project)
    payload = _with_items(make_payload("publish-only"), ODD_IDS)
    report = asyncio.run(engine.run([payload]))
    assert report.ok, report.to_json()
    (pid,) = report.records
    record = engine.store.get(pid)
    assert record is not None and len(record.outputs) == len(ODD_IDS)
    by_id: dict[str, str] = {}
    for href in record.outputs:
        item = pystac.Item.from_file(href)
        by_id[item.id] = href
        _opens(href, item.id)
        self_href = next(ln["href"] for ln in item.to_dict()["links"] if ln["rel"] == "self")
        assert self_href == href
        _opens(self_href, item.id)
    assert sorted(by_id) == sorted(ODD_IDS)
    # the readable characters are kept in the stored name, as Cirrus writes them
    assert (project / ".cirro/data/test-collection/2024/7/S1A:IW:001/S1A:IW:001.json").exists()


def test_a_payload_of_ten_thousand_items_completes(project: Path) -> None:
    ids = [f"S2B_{i:05d}" for i in range(10_000)]
    payload = _with_items(make_payload("noop3"), ids)
    engine = LocalEngine.open(project)
    report = asyncio.run(engine.run([payload]))
    assert report.ok, report.to_json()
    pid = payload_id("test-collection", "noop3", ids)
    record = engine.store.get(pid)
    assert record is not None and str(record.state) == "COMPLETED"  # the Cirrus id is the record's
    stored_in = engine.payloads.get_json(payload_key(pid, "input.json"))
    stored_out = engine.payloads.get_json(payload_key(pid, "output.json"))
    assert len(stored_in["features"]) == len(stored_out["features"]) == 10_000
    assert stored_out["id"] == pid
    assert stored_out["features"][-1]["properties"]["mirrored"] == "provider"
    with pytest.raises(StoreError):  # the id itself is no usable key (over 1,024 bytes)
        engine.payloads.get_bytes(f"{pid}/input.json")
    # each item is announced once, naming the payload by its folder: the 110 KB id repeated
    # on 10,000 notifications would be over a gigabyte
    published = engine.notifier.read("published")
    assert len(published) == 10_000
    attributes = published[0]["attributes"]
    assert attributes["payload_dir"] == payload_key(pid, "x").removesuffix("/x")
    assert "payload_id" not in attributes


def test_publish_to_a_full_url_template_and_the_api_link(tmp_path: Path) -> None:
    from cirrostratus.builtins.tasks.publish.lambda_function import publish_items
    from cirrostratus.payload import Payload

    payload = _with_items(make_payload("publish-only"), ["S1A:IW:001", "q?r#s"])
    out = tmp_path / "out dir"
    payload["process"]["upload_options"]["path_template"] = f"file://{out}/${{collection}}/${{id}}"
    urls = publish_items(Payload.from_dict(payload), str(tmp_path / "data"), "https://api.test")
    assert urls[0] == f"file://{out}/test-collection/S1A:IW:001/S1A:IW:001.json"
    for url, item in zip(urls, payload["features"], strict=True):
        _opens(url, item["id"])
        via = next(ln["href"] for ln in item["links"] if ln["rel"] == "via-cirrus")
        assert (
            via
            == "https://api.test/catid/test-collection/workflow-publish-only/S1A%3AIW%3A001/q%3Fr%23s"
        )


def test_cirro_payload_get_finds_a_long_id(project: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    ids = [f"scene-{i:04d}" for i in range(500)]  # a 6 KB id: over any file name limit
    engine = LocalEngine.open(project)
    report = asyncio.run(engine.run([_with_items(make_payload("noop3"), ids)]))
    assert report.ok, report.to_json()
    (pid,) = report.records
    engine.close()
    target = tmp_path / "out.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cirrostratus",
            "--project",
            str(project),
            "payload",
            "get",
            pid,
            "--output",
            "-f",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(orjson.loads(target.read_bytes())["features"]) == 500
