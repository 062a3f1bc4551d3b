"""The builtin convert-to-cog task: GeoTIFF assets become cloud-optimized GeoTIFFs.

A `stactask.Task` over rio-cogeo (cirrostratus.geo.cog). Each converted asset keeps its key,
points at the COG written under the item's `path_template`, is typed as a COG and carries the
`raster:bands` and `proj:*` fields read back from the file written.
"""

from __future__ import annotations

from typing import Any

from stactask import Task

from cirrostratus.geo import assets as geo_assets
from cirrostratus.geo import cog


def _wanted(item: dict[str, Any], assets: Any) -> dict[str, dict[str, Any]]:
    """Asset key -> its own options. Default: every asset typed image/tiff (or named .tif)."""
    if assets is None:
        found: dict[str, dict[str, Any]] = {}
        for key, asset in (item.get("assets") or {}).items():
            kind = str(asset.get("type", ""))
            href = str(asset.get("href", "")).lower().split("?", 1)[0]
            if "image/tiff" in kind or href.endswith((".tif", ".tiff")):
                found[key] = {}
        return found
    if isinstance(assets, dict):
        geo_assets.select(item, list(assets), "convert-to-cog")
        return {key: dict(value or {}) for key, value in assets.items()}
    return {key: {} for key in geo_assets.select(item, assets, "convert-to-cog")}


class ConvertToCog(Task):
    name = "convert-to-cog"
    description = "Convert GeoTIFF assets to cloud-optimized GeoTIFFs"
    version = "0.1.0"

    def process(self, **kwargs: Any) -> list[dict[str, Any]]:
        task_params = {k: v for k, v in kwargs.items() if k != "assets"}
        items = []
        for item in self.items_as_dicts:
            geo_assets.place_item(item, self.process_definition)
            for key, asset_params in _wanted(item, kwargs.get("assets")).items():
                opts = cog.options(task_params, asset_params)
                src = geo_assets.fetch(item, key, self._workdir)
                dst = self._workdir / f"{item['id']}-{key}.tif"
                cog.convert(src, dst, opts)
                asset = item["assets"][key]
                # read back before the file moves to the data store
                asset["raster:bands"] = cog.raster_bands(dst)
                asset.update(cog.projection(dst))
                asset["href"] = geo_assets.upload_file(
                    item,
                    key,
                    f"{item['id']}-{key}.tif",
                    dst,
                    self.payload.upload_options,
                    keep_in=geo_assets.keep_local(self),
                )
                asset["type"] = cog.COG_TYPE
                roles = asset.setdefault("roles", ["data"])
                if "data" not in roles:
                    roles.append("data")
                self.logger.info("converted %s of %s to %s", key, item["id"], asset["href"])
            cog.add_extensions(item, cog.RASTER_EXT, cog.PROJECTION_EXT)
            items.append(item)
        return items


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Entry point on Lambda, in Cirrus's Batch runner and in cirro's workers."""
    return ConvertToCog.handler(event)
