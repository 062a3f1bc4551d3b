"""The geospatial demo: synthetic scenes → feed-listing → cog-archive → checked outputs.

Run by examples/geo_demo.sh (`bash examples/geo_demo.sh [FOLDER]`). In a fresh folder it
  1. makes a demo project (`cirro init`);
  2. writes a few small synthetic 3-band GeoTIFF scenes with STAC items (rasterio, UTM 33N);
  3. feeds them with the builtin feed-listing, which reads each raster for its item, and runs
     them through the builtin cog-archive workflow (convert-to-cog → add-preview → publish)
     on the local engine (`cirro feed ... --run`);
  4. validates every published item with pystac against the schemas shipped with the package
     (no network) and every COG with rio-cogeo's validator, and prints where everything is.
Exits 1 if a payload fails or a check does not pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENES = 3
SIZE = 512

TEMPLATE = {
    "process": {
        "workflow": "cog-archive",
        "upload_options": {"path_template": "${collection}/${year}/${month}/${id}"},
        "tasks": {
            "convert-to-cog": {"blocksize": 256, "compression": "deflate"},
            "add-preview": {"preview_size": 512, "thumbnail_size": 256, "percentiles": [2, 98]},
        },
    }
}


def step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def cirro(*args: str, cwd: Path) -> None:
    """Run the venv's cirro; stop the demo if it fails."""
    exe = Path(sys.executable).with_name("cirro")
    done = subprocess.run([str(exe), *args], cwd=cwd)
    if done.returncode != 0:
        sys.exit(f"cirro {' '.join(args)} failed (exit {done.returncode})")


def main(argv: list[str]) -> int:
    from rio_cogeo.cogeo import cog_validate

    from cirrostratus.geo.cog import COG_TYPE
    from cirrostratus.geo.synthetic import make_scenes
    from cirrostratus.geo.validate import validate_item
    from cirrostratus.storage.keys import url_path

    started = time.monotonic()
    work = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="cirro-geo-demo."))
    project = work / "geo-demo"
    step(f"1. a demo project in {project}")
    cirro("init", str(project), cwd=work)

    step(f"2. {SCENES} synthetic {SIZE}x{SIZE} 3-band uint16 GeoTIFF scenes with STAC items")
    scenes = project / "scenes"
    for item in make_scenes(scenes, SCENES, size=SIZE):
        print(f"  {scenes / (item['id'] + '.tif')}  {item['properties']['datetime']}")
    (project / "template.json").write_text(json.dumps(TEMPLATE, indent=2))

    step("3. feed-listing -> cog-archive (convert-to-cog, add-preview, publish), run here")
    cirro(
        "feed",
        "feed-listing",
        "--param",
        f"root={scenes}",
        "--param",
        "glob=*.tif",
        "--param",
        "collection=synthetic",
        "--param",
        f"collection_href={scenes / 'collection.json'}",
        "--process",
        "template.json",
        "--run",
        cwd=project,
    )

    step("4. the outputs, checked")
    data = project / ".cirro" / "data"
    published = sorted(p for p in data.rglob("*.json"))
    problems = []
    thumbnails = []
    for path in published:
        item = json.loads(path.read_text())
        try:
            schemas = validate_item(item)
            print(f"  item {path}: valid STAC ({len(schemas)} schemas, offline)")
        except Exception as exc:  # the demo reports every failure, then exits 1
            problems.append(f"{path}: {exc}")
        for key, asset in item["assets"].items():
            href = url_path(asset["href"])
            if asset.get("type") == COG_TYPE:
                valid, errors, _ = cog_validate(href, quiet=True)
                print(f"    {key}: {href} (COG, {'valid' if valid else 'INVALID'})")
                if not valid:
                    problems.append(f"{href}: {errors}")
                continue
            # the role, when the key does not already say it (no "thumbnail: thumbnail")
            roles = [r for r in asset.get("roles", []) if r != key]
            if "thumbnail" in asset.get("roles", []):
                thumbnails.append(href)
            print(f"    {key}: {href}" + (f" ({', '.join(roles)})" if roles else ""))
    if len(published) != SCENES:
        problems.append(f"{len(published)} published items, expected {SCENES}")
    print(f"\npublished items and assets: {data}")
    print(f"thumbnails: {', '.join(thumbnails)}")
    print(f"took {time.monotonic() - started:.1f}s")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
