"""Small synthetic multi-band GeoTIFF scenes with STAC items, for the demo, tests and benchmark.

Each scene is a plain (striped, not cloud-optimized) GeoTIFF in UTM zone 33N with smooth
gradients plus noise per band, an optional nodata border, and a STAC item whose `data` asset
points at it: the input convert-to-cog expects from a real archive.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CRS = "EPSG:32633"


def write_scene(
    path: Path,
    *,
    size: int = 256,
    bands: int = 3,
    dtype: str = "uint16",
    nodata: float | None = 0,
    seed: int = 0,
    origin: tuple[float, float] = (500000.0, 4650000.0),
    resolution: float = 10.0,
    when: datetime | None = None,
) -> dict[str, Any]:
    """Write one scene; return its geometry facts (bbox in lon/lat, transform, crs)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.warp import transform_bounds

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    top = 4000 if dtype != "uint8" else 250
    planes = []
    for band in range(bands):
        wave = np.sin((x * (band + 1) + y) * np.pi * 2 + seed) * 0.5 + 0.5
        plane = 100 + wave * top * (0.6 + 0.1 * band) + rng.normal(0, top * 0.02, (size, size))
        planes.append(np.clip(plane, 1, top * 1.2))
    data = np.stack(planes).astype(dtype)
    if nodata is not None:
        border = max(1, size // 16)
        data[:, :border, :] = nodata
    transform = from_origin(origin[0], origin[1], resolution, resolution)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": bands,
        "dtype": dtype,
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        if when is not None:  # what feed-listing reads for the item's datetime
            ds.update_tags(TIFFTAG_DATETIME=when.strftime("%Y:%m:%d %H:%M:%S"))
        bounds = ds.bounds
    bbox = list(transform_bounds(CRS, "EPSG:4326", *bounds))
    return {"bbox": bbox, "transform": list(transform)[:6], "shape": [size, size]}


def scene_item(
    scene_id: str,
    href: str,
    facts: dict[str, Any],
    *,
    when: datetime,
    collection: str,
    collection_href: str,
) -> dict[str, Any]:
    """A STAC item for a scene written by `write_scene` (with the `collection` link STAC 1.1
    requires of an item that names its collection)."""
    west, south, east, north = facts["bbox"]
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [],
        "id": scene_id,
        "collection": collection,
        "bbox": facts["bbox"],
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"datetime": when.isoformat().replace("+00:00", "Z")},
        "links": [{"rel": "collection", "href": collection_href, "type": "application/json"}],
        "assets": {
            "data": {"href": href, "type": "image/tiff; application=geotiff", "roles": ["data"]}
        },
    }


def make_scenes(
    folder: Path, count: int, *, size: int = 256, bands: int = 3, collection: str = "synthetic"
) -> list[dict[str, Any]]:
    """`count` scenes side by side in `folder` (scene-NN.tif + scene-NN.json); their items."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "collection.json").write_text(json.dumps(collection_doc(collection), indent=2))
    start = datetime(2024, 6, 1, 10, 30, tzinfo=UTC)
    items = []
    for n in range(count):
        scene_id = f"scene-{n:02d}"
        tif = folder / f"{scene_id}.tif"
        when = start + timedelta(days=n)
        facts = write_scene(
            tif,
            size=size,
            bands=bands,
            seed=n,
            origin=(500000.0 + n * size * 10.0, 4650000.0),
            when=when,
        )
        item = scene_item(
            scene_id,
            str(tif),
            facts,
            when=when,
            collection=collection,
            collection_href=str(folder / "collection.json"),
        )
        (folder / f"{scene_id}.json").write_text(json.dumps(item, indent=2))
        items.append(item)
    return items


def collection_doc(collection: str) -> dict[str, Any]:
    """A minimal STAC collection the synthetic items link to."""
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": collection,
        "description": "Synthetic multi-band scenes made by cirrostratus.geo.synthetic",
        "license": "CC0-1.0",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2024-06-01T00:00:00Z", None]]},
        },
        "links": [],
    }
