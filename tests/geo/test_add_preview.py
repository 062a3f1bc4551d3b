"""add-preview: PNG preview and thumbnail, their sizes, roles, transparency and colormaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from stactask.exceptions import InvalidInput

from cirrostratus.storage.keys import url_path

from .conftest import load_task, payload

TASK = load_task("add-preview")


def run(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = TASK.lambda_handler(payload(items, {"add-preview": params}))
    return out


def read_png(asset: dict[str, Any]) -> Any:
    with rasterio.open(url_path(asset["href"])) as ds:
        assert ds.driver == "PNG"
        return ds.read()


def test_preview_and_thumbnail_sizes_and_roles(scenes: list[Any], data_root: Path) -> None:
    item = run(scenes[:1], {"preview_size": 200, "thumbnail_size": 64})["features"][0]
    preview, thumb = item["assets"]["preview"], item["assets"]["thumbnail"]
    assert preview["roles"] == ["overview"] and thumb["roles"] == ["thumbnail"]
    assert preview["type"] == thumb["type"] == "image/png"
    assert url_path(thumb["href"]) == str(data_root / "synthetic/scene-00/scene-00-thumbnail.png")
    assert read_png(preview).shape == (4, 200, 200)
    pixels = read_png(thumb)
    assert pixels.shape == (4, 64, 64)
    assert (pixels[3, :3] == 0).all()  # the nodata border is transparent
    assert (pixels[3, 10:] == 255).all()
    assert pixels[:3, 10:].std() > 20  # stretched, not flat


def test_never_upscales_and_zero_skips(scenes: list[Any], data_root: Path) -> None:
    item = run(scenes[:1], {"preview_size": 0, "thumbnail_size": 4096})["features"][0]
    assert "preview" not in item["assets"]
    assert read_png(item["assets"]["thumbnail"]).shape == (4, 256, 256)


def test_one_band_through_a_colormap(scenes: list[Any], data_root: Path) -> None:
    item = run(scenes[:1], {"bands": [2], "colormap": "viridis", "preview_size": 0})
    rgb = read_png(item["features"][0]["assets"]["thumbnail"])[:3, 20:, :]
    assert not np.array_equal(rgb[0], rgb[1])  # colour, not gray
    gray = run(scenes[:1], {"bands": [2], "preview_size": 0})
    plain = read_png(gray["features"][0]["assets"]["thumbnail"])[:3, 20:, :]
    assert np.array_equal(plain[0], plain[1]) and np.array_equal(plain[1], plain[2])


def test_bad_input_is_named(scenes: list[Any], data_root: Path) -> None:
    with pytest.raises(InvalidInput, match="no asset 'visual'"):
        run(scenes[:1], {"asset": "visual"})
    with pytest.raises(ValueError, match="bands must be 1 or 3"):
        run(scenes[:1], {"bands": [1, 4, 2]})
    with pytest.raises(ValueError, match="unknown colormap 'jet'"):
        run(scenes[:1], {"bands": [1], "colormap": "jet"})
