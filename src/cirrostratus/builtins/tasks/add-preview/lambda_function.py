"""The builtin add-preview task: a PNG preview and thumbnail of one raster asset.

A `stactask.Task` (cirrostratus.geo.preview): an RGB triple or one band through a colormap,
stretched between percentiles, written under the item's `path_template` as the assets
`preview` (role overview) and `thumbnail` (role thumbnail).
"""

from __future__ import annotations

from typing import Any

from stactask import Task
from stactask.exceptions import InvalidInput

from cirrostratus.geo import assets as geo_assets
from cirrostratus.geo import preview

PREFERRED = ("visual", "rgb", "image", "data")


def _source(item: dict[str, Any], asset: str | None) -> str:
    assets = item.get("assets") or {}
    if asset:
        geo_assets.select(item, [asset], "add-preview")
        return str(asset)
    for key in PREFERRED:
        if key in assets:
            return key
    for key, value in assets.items():
        if "image/tiff" in str(value.get("type", "")):
            return str(key)
    raise InvalidInput(
        f"add-preview: item {item.get('id')!r} has no GeoTIFF asset to preview; "
        "name one with process.tasks.add-preview.asset"
    )


class AddPreview(Task):
    name = "add-preview"
    description = "Add a PNG preview and thumbnail of a raster asset"
    version = "0.1.0"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        bands = kwargs.get("bands")
        percentiles = tuple(kwargs.get("percentiles", (2, 98)))
        if len(percentiles) != 2 or not 0 <= percentiles[0] < percentiles[1] <= 100:
            raise ValueError(
                f"add-preview: percentiles must be [low, high] within 0-100 (got {percentiles})"
            )
        colormap = str(kwargs.get("colormap", "gray"))
        outputs = [
            ("preview", "overview", kwargs.get("preview_size", 1024)),
            ("thumbnail", "thumbnail", kwargs.get("thumbnail_size", 256)),
        ]
        items = []
        for item in self.items_as_dicts:
            geo_assets.place_item(item, self.process_definition)
            key = _source(item, kwargs.get("asset"))
            path = geo_assets.fetch(item, key, self._workdir)
            for name, role, size in outputs:
                if not size:
                    continue
                data, (width, height) = preview.render(
                    path,
                    size=int(size),
                    bands=bands,
                    percentiles=(float(percentiles[0]), float(percentiles[1])),
                    colormap=colormap,
                )
                href = geo_assets.upload(
                    item,
                    name,
                    f"{item['id']}-{name}.png",
                    data,
                    self.payload.upload_options,
                    keep_in=geo_assets.keep_local(self),
                )
                item["assets"][name] = {
                    "href": href,
                    "type": "image/png",
                    "title": f"{name.capitalize()} of {key} ({width}x{height})",
                    "roles": [role],
                }
            items.append(item)
        return items


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Entry point on Lambda, in Cirrus's Batch runner and in cirro's workers."""
    return AddPreview.handler(event)
