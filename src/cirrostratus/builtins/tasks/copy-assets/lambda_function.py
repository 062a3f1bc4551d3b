"""The builtin copy-assets task: copy an item's assets to the data store, rewriting hrefs.

A `stactask.Task`. Where each file lands is `upload_options.path_template` rendered for the
item (payload/), written through the object store (storage/), as publish writes items.
"""

from __future__ import annotations

import posixpath
from typing import Any

from stactask import Task

from cirrostratus.geo import assets as geo_assets


class CopyAssets(Task):
    name = "copy-assets"
    description = "Copy an item's assets to the data store, rewriting their hrefs"
    version = "0.1.0"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        wanted = kwargs.get("assets", geo_assets.ALL)
        drop = kwargs.get("drop_assets") or []
        if not isinstance(drop, list):
            raise ValueError(
                f"copy-assets: drop_assets must be a list of asset keys (got {drop!r})"
            )
        items = []
        for item in self.items_as_dicts:
            geo_assets.place_item(item, self.process_definition)
            for key in drop:
                item.get("assets", {}).pop(key, None)
            for key in geo_assets.select(item, wanted, self.name):
                if key in drop:
                    continue
                asset = item["assets"][key]
                source = geo_assets.absolute_href(item, str(asset["href"]))
                path = geo_assets.fetch(item, key, self._workdir)
                name = posixpath.basename(source.split("?", 1)[0]) or key
                asset["href"] = geo_assets.upload(
                    item,
                    key,
                    name,
                    path.read_bytes(),
                    self.payload.upload_options,
                    keep_in=geo_assets.keep_local(self),
                )
                self.logger.info("copied %s of %s to %s", key, item["id"], asset["href"])
            items.append(item)
        return items


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Entry point on Lambda, in Cirrus's Batch runner and in cirro's workers."""
    return CopyAssets.handler(event)
