"""PNG previews and thumbnails of a raster asset, for add-preview.

An RGB triple (or one band through a colormap) is read at the output size from the file's
overviews, stretched between two percentiles of its valid pixels to 0-255, and written as
PNG by GDAL's PNG driver (no imaging library needed). Nodata pixels become transparent.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

# Colormaps for one band: a few stops each, interpolated linearly to 256 colours.
COLORMAPS: dict[str, list[tuple[int, int, int]]] = {
    "gray": [(0, 0, 0), (255, 255, 255)],
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "magma": [(0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191)],
    "terrain": [(51, 51, 153), (0, 153, 255), (0, 204, 102), (255, 255, 153), (128, 92, 84)],
    "rdylgn": [(165, 0, 38), (244, 109, 67), (255, 255, 191), (102, 189, 99), (0, 104, 55)],
}


def lookup_table(name: str) -> Any:
    """A 256x3 uint8 table for colormap `name`."""
    import numpy as np

    if name not in COLORMAPS:
        raise ValueError(
            f"add-preview: unknown colormap {name!r}; known: {', '.join(sorted(COLORMAPS))}"
        )
    stops = np.array(COLORMAPS[name], dtype=float)
    where = np.linspace(0, 1, len(stops))
    ramp = np.linspace(0, 1, 256)
    table = [np.interp(ramp, where, stops[:, c]) for c in range(3)]
    return np.stack(table, axis=1).round().astype("uint8")


def default_bands(count: int) -> list[int]:
    """RGB from the first three bands, else the first band alone."""
    return [1, 2, 3] if count >= 3 else [1]


def render(
    path: Path,
    *,
    size: int,
    bands: list[int] | None = None,
    percentiles: tuple[float, float] = (2.0, 98.0),
    colormap: str = "gray",
) -> tuple[bytes, tuple[int, int]]:
    """PNG bytes of the raster at `path`, its longest side `size` pixels; and (width, height)."""
    import numpy as np
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    with rasterio.open(path) as ds:
        chosen = bands or default_bands(ds.count)
        bad = [b for b in chosen if not 1 <= int(b) <= ds.count]
        if len(chosen) not in (1, 3) or bad:
            raise ValueError(
                f"add-preview: bands must be 1 or 3 band numbers between 1 and {ds.count} "
                f"(got {chosen})"
            )
        scale = max(1.0, max(ds.width, ds.height) / float(size))  # never upscale
        width = max(1, round(ds.width / scale))
        height = max(1, round(ds.height / scale))
        data = ds.read(chosen, out_shape=(len(chosen), height, width), masked=True)
    mask = np.ma.getmaskarray(data).any(axis=0)
    low_p, high_p = percentiles
    scaled = []
    for band in data:
        valid = band.compressed()
        if valid.size:
            low, high = np.percentile(valid, [low_p, high_p])
        else:
            low, high = 0.0, 1.0
        span = float(high - low) or 1.0
        stretched = (np.clip((band.filled(low) - low) / span, 0, 1) * 255).round()
        scaled.append(stretched.astype("uint8"))
    rgb = lookup_table(colormap)[scaled[0]].transpose(2, 0, 1) if len(scaled) == 1 else scaled
    alpha = np.where(mask, 0, 255).astype("uint8")
    planes = np.stack([*rgb, alpha])
    profile = {"driver": "PNG", "width": width, "height": height, "count": 4, "dtype": "uint8"}
    with MemoryFile() as mem, warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a PNG has no CRS, rightly
        with mem.open(**profile) as out:
            out.write(planes)
        return bytes(mem.read()), (width, height)
