"""The geo demo end to end: scenes fed by feed-listing through cog-archive, outputs checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import rasterio

ROOT = Path(__file__).resolve().parents[2]


def test_demo_publishes_valid_items_cogs_and_thumbnails(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "geo_demo.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 COMPLETED" in done.stdout and "PROBLEM" not in done.stderr
    data = tmp_path / "geo-demo" / ".cirro" / "data" / "synthetic" / "2024" / "6"
    items = sorted(data.rglob("*.json"))
    assert [p.stem for p in items] == ["scene-00", "scene-01", "scene-02"]
    item = json.loads(items[0].read_text())
    assert item["properties"]["datetime"] == "2024-06-01T10:30:00Z"  # from the TIFF tag
    assert item["links"][0]["rel"] == "self"
    thumb = item["assets"]["thumbnail"]
    assert thumb["roles"] == ["thumbnail"]
    with rasterio.open(data / "scene-00" / "scene-00-thumbnail.png") as png:
        assert (png.width, png.height) == (256, 256)
    assert done.stdout.count(": valid STAC") == 3 and done.stdout.count("(COG, valid)") == 3
    assert "thumbnail: thumbnail" not in done.stdout  # the key is not repeated as its role
    assert done.stdout.count("    thumbnail: ") == 3  # one line per item
