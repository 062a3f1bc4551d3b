"""The builtin feed-listing feeder: a payload per raster file found under a folder or bucket.

Event: `root`, `glob`, `items` (`raster` or `template`), `item_template`, `collection`,
`collection_href`, `asset_key`, `datetime`, `max_items`, and `process` (see README.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cirrostratus.builtins.local_intake import send
from cirrostratus.geo import feeding, listing


def _items(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    root = event.get("root")
    if not root:
        raise ValueError(
            "feed-listing: `root` (a folder, file:// or s3:// URL) is required, "
            "e.g. --param root=$PWD/scenes"
        )
    mode = event.get("items", "raster")
    if mode not in ("raster", "template"):
        raise ValueError(
            f"feed-listing: `items` must be 'raster' or 'template' (got {mode!r}), "
            "e.g. --param items=raster"
        )
    if mode == "template" and not isinstance(event.get("item_template"), dict):
        raise ValueError(
            "feed-listing: items: template needs `item_template` (a STAC item): "
            "put it in a --params FILE"
        )
    for href in listing.list_files(str(root), str(event.get("glob", "**/*.tif"))):
        if mode == "template":
            yield listing.from_template(href, event["item_template"])
        else:
            yield listing.from_raster(
                href,
                collection=event.get("collection"),
                collection_href=event.get("collection_href"),
                asset_key=str(event.get("asset_key", "data")),
                when=event.get("datetime"),
            )


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    items = feeding.limited(_items(event), feeding.whole_number(event, "max_items", "feed-listing"))
    return feeding.emit(feeding.group(items, event.get("group_by")), event, "feed-listing", send)
