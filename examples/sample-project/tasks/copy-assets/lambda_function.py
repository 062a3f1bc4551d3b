"""copy-assets: a stactask Task that copies asset files into the data store."""

from __future__ import annotations

import os
import posixpath
from typing import Any

import fsspec
from pystac import Item
from pystac.layout import LayoutTemplate
from stactask import Task
from stactask.exceptions import InvalidInput


class CopyAssets(Task):
    name = "copy-assets"
    description = "Copy each item's assets into the data store"
    version = "0.1.0"

    def process(self, assets: list[str] | None = None, **_: Any) -> list[dict[str, Any]]:
        data_root = os.environ["CIRRUS_DATA_BUCKET"].rstrip("/")
        template = self.payload.upload_options.get("path_template", "${collection}/${id}")
        out = []
        for item_dict in self.payload.items_as_dicts:
            keys = [k for k in item_dict.get("assets", {}) if assets is None or k in assets]
            if not keys:
                raise InvalidInput(f"item {item_dict['id']} has no assets to copy")
            prefix = LayoutTemplate(template).substitute(Item.from_dict(item_dict))
            for key in keys:
                asset = item_dict["assets"][key]
                target = f"{data_root}/{prefix.strip('/')}/{posixpath.basename(asset['href'])}"
                with fsspec.open(asset["href"], "rb") as src, fsspec.open(target, "wb") as dst:
                    dst.write(src.read())
                asset["href"] = target
            self.logger.info("copied %d assets of %s", len(keys), item_dict["id"])
            out.append(item_dict)
        return out


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return CopyAssets.handler(event, upload=False)
