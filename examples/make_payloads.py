"""Generate sample Cirrus payloads (and their small asset files) for the sample project.

    python examples/make_payloads.py OUT_DIR [--count N] [--batch-every K] [--invalid N]
                                             [--chain N] [--start FIRST_ITEM_NUMBER]

Each payload holds one item over a random small scene with one local asset file. Every K-th
payload asks for copy-assets on Batch; `--invalid` adds payloads whose item has no assets (the
task raises InvalidInput); `--chain` adds chained payloads (sample-pipeline, then
publish-footprints for two derived collections: a fan-out).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def item(i: int, assets_dir: Path, rng: random.Random, with_asset: bool = True) -> dict:
    lon, lat = rng.uniform(-170, 170), rng.uniform(-70, 70)
    size = rng.uniform(0.5, 1.5)
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    item_id = f"SAMPLE_{i:06d}"
    assets = {}
    if with_asset:
        asset = assets_dir / f"{item_id}.txt"
        asset.write_text(f"scene {item_id} at {lon:.3f},{lat:.3f}\n")
        assets["data"] = {"href": str(asset.absolute()), "type": "text/plain", "roles": ["data"]}
    day = 1 + i % 28
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": "sample-scenes",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [lon, lat, lon + size, lat + size],
        "properties": {"datetime": f"2024-03-{day:02d}T10:00:00Z"},
        "assets": assets,
        "links": [],
    }


def process_block(workflow: str, batch: bool = False) -> dict:
    tasks: dict = {"footprint": {"precision": 2}}
    if batch:
        tasks["copy-assets"] = {"batch": True}
    return {
        "workflow": workflow,
        "upload_options": {"path_template": "${collection}/${year}/${month}/${id}"},
        "tasks": tasks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--batch-every", type=int, default=0)
    parser.add_argument("--invalid", type=int, default=0)
    parser.add_argument("--chain", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=int, default=0, help="number of the first item id")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    assets_dir = args.out / "assets"
    assets_dir.mkdir(parents=True, exist_ok=True)
    n = args.start
    for i in range(args.count):
        batch = bool(args.batch_every) and i % args.batch_every == 0
        payload = {
            "type": "FeatureCollection",
            "features": [item(n, assets_dir, rng)],
            "process": process_block("sample-pipeline", batch=batch),
        }
        (args.out / f"payload-{n:06d}.json").write_text(json.dumps(payload))
        n += 1
    for _ in range(args.invalid):
        payload = {
            "type": "FeatureCollection",
            "features": [item(n, assets_dir, rng, with_asset=False)],
            "process": process_block("sample-pipeline"),
        }
        (args.out / f"invalid-{n:06d}.json").write_text(json.dumps(payload))
        n += 1
    for _ in range(args.chain):
        first = process_block("sample-pipeline")
        fan_out = []
        for collection in ("sample-footprints-a", "sample-footprints-b"):
            block = process_block("publish-footprints")
            block["collections"] = collection  # part of the payload id: the branches differ
            block["upload_options"]["collections"] = {collection: "*"}
            fan_out.append(block)
        payload = {
            "type": "FeatureCollection",
            "features": [item(n, assets_dir, rng)],
            "process": [first, fan_out],
        }
        (args.out / f"chain-{n:06d}.json").write_text(json.dumps(payload))
        n += 1
    print(f"wrote {n - args.start} payloads to {args.out}")


if __name__ == "__main__":
    main()
