"""convert-to-cog on generated scenes: a valid COG, its overviews, nodata, and the fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate
from stactask.exceptions import InvalidInput

from cirrostratus.geo.cog import COG_TYPE, PROJECTION_EXT, RASTER_EXT
from cirrostratus.geo.validate import validate_item
from cirrostratus.storage.keys import url_path

from .conftest import load_task, payload

TASK = load_task("convert-to-cog")


def run(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = TASK.lambda_handler(payload(items, {"convert-to-cog": params}))
    return out


def cog_path(item: dict[str, Any], key: str = "data") -> Path:
    return Path(url_path(item["assets"][key]["href"]))


def test_writes_a_valid_cog_under_the_path_template(scenes: list[Any], data_root: Path) -> None:
    out = run(scenes[:1], {"blocksize": 128})
    item = out["features"][0]
    path = cog_path(item)
    assert path == data_root / "synthetic" / "scene-00" / "scene-00-data.tif"
    valid, errors, _warnings = cog_validate(str(path), quiet=True)
    assert valid, errors
    assert item["assets"]["data"]["type"] == COG_TYPE
    assert "data" in item["assets"]["data"]["roles"]
    with rasterio.open(path) as ds, rasterio.open(scenes[0]["assets"]["data"]["href"]) as src:
        assert ds.profile["blockxsize"] == 128
        assert ds.nodata == 0
        assert (ds.read() == src.read()).all()  # lossless: same pixels


def test_overview_levels_and_compression(scenes: list[Any], data_root: Path) -> None:
    out = run(scenes[:1], {"blocksize": 64, "overview_level": 2, "compression": "lzw"})
    with rasterio.open(cog_path(out["features"][0])) as ds:
        assert ds.overviews(1) == [2, 4]
        assert ds.compression.name.lower() == "lzw"
    auto = run(scenes[1:], {"blocksize": 64})
    with rasterio.open(cog_path(auto["features"][0])) as ds:
        assert ds.overviews(1) == [2, 4]  # until an overview fits one 64-pixel tile


def test_nodata_set_per_asset_is_kept(scenes: list[Any], data_root: Path) -> None:
    out = run(scenes[:1], {"assets": {"data": {"nodata": 7}}})
    item = out["features"][0]
    with rasterio.open(cog_path(item)) as ds:
        assert ds.nodata == 7
    assert {band["nodata"] for band in item["assets"]["data"]["raster:bands"]} == {7}


def test_raster_and_projection_fields_match_the_file(scenes: list[Any], data_root: Path) -> None:
    item = run(scenes[:1], {})["features"][0]
    asset = item["assets"]["data"]
    assert set(item["stac_extensions"]) >= {RASTER_EXT, PROJECTION_EXT}
    assert asset["proj:code"] == "EPSG:32633"
    assert asset["proj:shape"] == [256, 256]
    assert asset["proj:transform"] == [10.0, 0.0, 500000.0, 0.0, -10.0, 4650000.0]
    assert asset["proj:bbox"] == [500000.0, 4647440.0, 502560.0, 4650000.0]
    bands = asset["raster:bands"]
    assert len(bands) == 3
    for band in bands:
        assert band["data_type"] == "uint16"
        assert band["nodata"] == 0
        assert band["spatial_resolution"] == 10.0
        stats = band["statistics"]
        assert 0 < stats["minimum"] <= stats["mean"] <= stats["maximum"]
        assert stats["valid_percent"] < 100  # the nodata border is not counted
    assert RASTER_EXT in validate_item(item) and PROJECTION_EXT in validate_item(item)


def test_bad_options_are_named(scenes: list[Any], data_root: Path) -> None:
    with pytest.raises(ValueError, match="unknown asset option 'blocksiz'"):
        run(scenes[:1], {"assets": {"data": {"blocksiz": 3}}})
    with pytest.raises(ValueError, match="compression 'gzip'"):
        run(scenes[:1], {"compression": "gzip"})
    with pytest.raises(InvalidInput, match="no asset 'B04'"):
        run(scenes[:1], {"assets": ["B04"]})


def test_gdal_threads_follow_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every core where GDAL_NUM_THREADS is unset (AWS); the share cirro's workers are given."""
    import rio_cogeo.cogeo

    from cirrostratus.geo.cog import DEFAULTS, convert

    seen: list[str] = []
    monkeypatch.setattr(
        rio_cogeo.cogeo,
        "cog_translate",
        lambda *args, **kw: seen.append(kw["config"]["GDAL_NUM_THREADS"]),
    )
    monkeypatch.delenv("GDAL_NUM_THREADS", raising=False)
    convert(tmp_path / "in.tif", tmp_path / "out.tif", dict(DEFAULTS))
    monkeypatch.setenv("GDAL_NUM_THREADS", "1")
    convert(tmp_path / "in.tif", tmp_path / "out.tif", dict(DEFAULTS))
    assert seen == ["ALL_CPUS", "1"]
