"""Cloud-optimized GeoTIFFs (rio-cogeo) and the STAC fields read back from them.

`convert` is the work of the convert-to-cog task; `raster_bands` and `projection` fill the
`raster` and `projection` extension fields from the file written, so an item says what its
COG really holds.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
RASTER_EXT = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
PROJECTION_EXT = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
RESAMPLING = ("nearest", "bilinear", "cubic", "cubic_spline", "lanczos", "average", "mode", "rms")
COMPRESSIONS = ("deflate", "lzw", "zstd", "jpeg", "webp", "packbits", "lerc", "raw")

DEFAULTS: dict[str, Any] = {
    "nodata": None,
    "blocksize": 512,
    "overview_blocksize": None,
    "overview_resampling": "average",
    "overview_level": None,
    "resampling": "nearest",
    "web_optimized": False,
    "compression": "deflate",
}


def options(task_params: dict[str, Any], asset_params: dict[str, Any]) -> dict[str, Any]:
    """One asset's options: its own, over the task's, over DEFAULTS; unknown keys refused."""
    merged = {**DEFAULTS}
    for where, source in (("convert-to-cog", task_params), ("asset", asset_params)):
        for key, value in source.items():
            if key in DEFAULTS:
                merged[key] = value
            elif where == "asset":
                raise ValueError(
                    f"convert-to-cog: unknown asset option {key!r}; known: {', '.join(DEFAULTS)}"
                )
    for key in ("overview_resampling", "resampling"):
        if merged[key] not in RESAMPLING:
            raise ValueError(
                f"convert-to-cog: {key} {merged[key]!r} is not one of {', '.join(RESAMPLING)}"
            )
    if str(merged["compression"]).lower() not in COMPRESSIONS:
        raise ValueError(
            f"convert-to-cog: compression {merged['compression']!r} is not one of "
            f"{', '.join(COMPRESSIONS)}"
        )
    return merged


def convert(src: Path, dst: Path, opts: dict[str, Any]) -> None:
    """Write `src` as a COG at `dst` with rio-cogeo, per `opts` (see `options`)."""
    from rio_cogeo.cogeo import cog_translate
    from rio_cogeo.profiles import cog_profiles

    profile = dict(cog_profiles.get(str(opts["compression"]).lower()))  # type: ignore[no-untyped-call]
    size = int(opts["blocksize"])
    profile.update(blockxsize=size, blockysize=size)
    config = {
        # every core where the task has the machine to itself (Lambda, Batch); the CPU share
        # cirro gives each worker when several run side by side (runtime/env.thread_limits)
        "GDAL_NUM_THREADS": os.environ.get("GDAL_NUM_THREADS", "ALL_CPUS"),
        "GDAL_TIFF_INTERNAL_MASK": True,
        # GDAL's overview tile size; rio-cogeo has no argument for it
        "GDAL_TIFF_OVR_BLOCKSIZE": str(int(opts["overview_blocksize"] or size)),
    }
    kwargs: dict[str, Any] = {}
    if opts["overview_level"] is not None:
        kwargs["overview_level"] = int(opts["overview_level"])
    cog_translate(
        str(src),
        str(dst),
        profile,
        nodata=opts["nodata"],
        overview_resampling=opts["overview_resampling"],
        resampling=opts["resampling"],
        web_optimized=bool(opts["web_optimized"]),
        config=config,
        in_memory=True,
        quiet=True,
        use_cog_driver=False,
        **kwargs,
    )


def _number(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def raster_bands(path: Path) -> list[dict[str, Any]]:
    """`raster:bands` of a file: data type, nodata, resolution, and statistics computed on its
    smallest overview (cheap, and what a viewer would use to stretch it)."""
    import rasterio

    with rasterio.open(path) as ds:
        factors = ds.overviews(1)
        scale = factors[-1] if factors else 1
        shape = (ds.count, max(1, ds.height // scale), max(1, ds.width // scale))
        data = ds.read(out_shape=shape, masked=True)
        resolution = abs(ds.res[0]) if ds.crs and ds.crs.is_projected else None
        bands = []
        for index in range(ds.count):
            band: dict[str, Any] = {"data_type": ds.dtypes[index]}
            if ds.nodatavals[index] is not None:
                band["nodata"] = _number(float(ds.nodatavals[index]))
            if resolution:
                band["spatial_resolution"] = resolution
            values = data[index]
            valid = values.compressed()
            if valid.size:
                band["statistics"] = {
                    "minimum": float(valid.min()),
                    "maximum": float(valid.max()),
                    "mean": float(valid.mean()),
                    "stddev": float(valid.std()),
                    "valid_percent": round(100.0 * valid.size / values.size, 2),
                }
            if ds.scales[index] not in (None, 1.0):
                band["scale"] = float(ds.scales[index])
            if ds.offsets[index] not in (None, 0.0):
                band["offset"] = float(ds.offsets[index])
            bands.append(band)
    return bands


def projection(path: Path | str) -> dict[str, Any]:
    """The projection extension's fields of a file: code (or WKT2), shape, transform, bbox."""
    import rasterio

    with rasterio.open(path) as ds:
        fields: dict[str, Any] = {}
        if ds.crs:
            epsg = ds.crs.to_epsg()
            if epsg:
                fields["proj:code"] = f"EPSG:{epsg}"
            else:
                fields["proj:wkt2"] = ds.crs.to_wkt()
        else:
            fields["proj:code"] = None
        fields["proj:shape"] = [ds.height, ds.width]
        fields["proj:transform"] = list(ds.transform)[:6]
        fields["proj:bbox"] = list(ds.bounds)
    return fields


def add_extensions(item: dict[str, Any], *urls: str) -> None:
    """Declare extensions on the item once each, keeping what it already declares."""
    declared = item.setdefault("stac_extensions", [])
    for url in urls:
        if url not in declared:
            declared.append(url)
