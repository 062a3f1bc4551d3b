"""feed-listing's items: rasters found in a folder or bucket, described from a template or
read from the rasters themselves (rasterio: footprint, datetime, projection)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from datetime import UTC, datetime
from string import Template
from typing import Any


def list_files(root: str, pattern: str) -> Iterator[str]:
    """URLs (or paths) of the files under `root` matching the glob `pattern`, sorted."""
    import fsspec

    fs, base = fsspec.core.url_to_fs(root)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if not fs.exists(base):
        raise ValueError(
            f"feed-listing: root {root!r} does not exist (the feeder runs in its own folder: "
            "give an absolute path or URL, e.g. --param root=$PWD/scenes)"
        )
    for path in sorted(fs.glob(posixpath.join(base, pattern))):
        if fs.isdir(path):
            continue
        yield path if protocol in ("file", "local") else f"{protocol}://{path}"


def _render(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return Template(value).safe_substitute(names)
    if isinstance(value, list):
        return [_render(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _render(v, names) for k, v in value.items()}
    return value


def from_template(href: str, item_template: dict[str, Any]) -> dict[str, Any]:
    """An item from `item_template`, `${href}`, `${name}` and `${stem}` filled in."""
    name = posixpath.basename(href)
    stem = name.rsplit(".", 1)[0]
    return dict(_render(item_template, {"href": href, "name": name, "stem": stem}))


def from_raster(
    href: str,
    *,
    collection: str | None,
    asset_key: str,
    when: str | None,
    collection_href: str | None = None,
) -> dict[str, Any]:
    """An item read from the raster: id from the file name, footprint in lon/lat, `proj:*`.

    The datetime is `when` if given, else the file's TIFFTAG_DATETIME, else its mtime.
    """
    import rasterio
    from rasterio.warp import transform_bounds

    from cirrostratus.geo.cog import PROJECTION_EXT, projection

    stem = posixpath.basename(href).rsplit(".", 1)[0]
    with rasterio.open(href) as ds:
        bounds = ds.bounds
        bbox = list(transform_bounds(ds.crs, "EPSG:4326", *bounds)) if ds.crs else list(bounds)
        tag = ds.tags().get("TIFFTAG_DATETIME")
    proj = projection(href)
    if when is None and tag:
        when = datetime.strptime(tag, "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC).isoformat()
    if when is None:
        import fsspec

        fs, path = fsspec.core.url_to_fs(href)
        modified = fs.modified(path)
        when = modified.astimezone(UTC).isoformat() if modified.tzinfo else modified.isoformat()
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [PROJECTION_EXT],
        "id": stem,
        "bbox": bbox,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"datetime": str(when).replace("+00:00", "Z"), **proj},
        "links": [],
        "assets": {
            asset_key: {
                "href": href,
                "type": "image/tiff; application=geotiff",
                "roles": ["data"],
            }
        },
    }
    if collection:
        item["collection"] = collection
        if collection_href:  # STAC 1.1: an item naming its collection links to it
            item["links"].append(
                {"rel": "collection", "href": collection_href, "type": "application/json"}
            )
    return item
