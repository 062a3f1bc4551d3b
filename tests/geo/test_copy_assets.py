"""copy-assets: files copied under the path template, hrefs rewritten, drops honoured."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from cirrostratus.storage.keys import url_path

from .conftest import load_task, payload

TASK = load_task("copy-assets")


def test_copies_every_asset_and_drops_some(scenes: list[Any], data_root: Path) -> None:
    items = copy.deepcopy(scenes[:1])
    items[0]["assets"]["extra"] = {"href": items[0]["assets"]["data"]["href"], "roles": ["x"]}
    body = payload(items, {"copy-assets": {"drop_assets": ["extra"]}})
    body["process"]["upload_options"] = {"path_template": "${collection}/${year}/${id}"}
    body["process"]["collection_matchers"] = [{"type": "catch_all", "collection_name": "mirrored"}]
    item = TASK.lambda_handler(body)["features"][0]
    assert set(item["assets"]) == {"data"}
    copied = Path(url_path(item["assets"]["data"]["href"]))
    assert copied == data_root / "mirrored/2024/scene-00/scene-00.tif"
    assert copied.read_bytes() == Path(scenes[0]["assets"]["data"]["href"]).read_bytes()
    assert item["collection"] == "mirrored"


def test_relative_hrefs_resolve_against_the_self_link(scenes: list[Any], data_root: Path) -> None:
    items = copy.deepcopy(scenes[:1])
    source = Path(items[0]["assets"]["data"]["href"])
    items[0]["links"] = [{"rel": "self", "href": str(source.parent / "scene-00.json")}]
    items[0]["assets"]["data"]["href"] = "./scene-00.tif"
    item = TASK.lambda_handler(payload(items, {"copy-assets": {"assets": ["data"]}}))
    copied = Path(url_path(item["features"][0]["assets"]["data"]["href"]))
    assert copied.read_bytes() == source.read_bytes()
