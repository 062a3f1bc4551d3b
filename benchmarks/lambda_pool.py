"""Invocations per second through the warm Lambda pool vs a bare pipe round trip.

Both move the same ~3 KB JSON payload to another process and back:
- pool: `LambdaPool.invoke` of a handler that returns its event (workers warm, pipelined);
- bare: a multiprocessing Pipe to one child that echoes bytes (one round trip at a time).
Prints one JSON object on the last line: {"pool_per_s", "bare_per_s", "ratio", ...}.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cirrostratus.runtime import LambdaPool, LambdaSpec

HANDLER = "def handler(event, context):\n    return event\n"
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
CONCURRENCY = 64


def payload() -> dict[str, Any]:
    """A Cirrus-like process payload of about 3 KB."""
    feature = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2B_10TFK_20210713_0_L2A",
        "collection": "sentinel-2-l2a",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[-121.0, 38.0], [-120.0, 38.0], [-120.0, 39.0], [-121.0, 38.0]]],
        },
        "properties": {
            "datetime": "2021-07-13T19:03:24Z",
            "eo:cloud_cover": 12.5,
            "platform": "sentinel-2b",
            "s2:granule_id": "S2B_OPER_MSI_L2A_TL_VGS4_20210713T235325_A022770_T10TFK_N03.01",
        },
        "assets": {
            f"B{i:02d}": {
                "href": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/10/T/FK/2021/7/B{i:02d}.tif",
                "type": "image/tiff; application=geotiff",
            }
            for i in range(1, 23)
        },
        "links": [],
    }
    body = {
        "type": "FeatureCollection",
        "features": [feature],
        "process": {
            "workflow": "cog-archive",
            "upload_options": {"path_template": "/${collection}/${id}"},
            "tasks": {},
        },
    }
    return body


def _echo(conn: Any) -> None:
    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            return
        conn.send_bytes(data)


def bare(data: bytes) -> float:
    parent, child = mp.Pipe()
    proc = mp.Process(target=_echo, args=(child,), daemon=True)
    proc.start()
    parent.send_bytes(data)
    parent.recv_bytes()
    n = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS:
        for _ in range(200):
            parent.send_bytes(data)
            orjson.loads(parent.recv_bytes())
        n += 200
    parent.close()
    proc.join(1)
    return n / elapsed


async def pooled(event: dict[str, Any], workdir: Path) -> tuple[float, int]:
    spec = LambdaSpec(name="noop", directory=workdir, handler="noop.handler", timeout_s=30)
    async with LambdaPool({"noop": spec}, logs_dir=workdir / "logs") as pool:
        await asyncio.gather(*(pool.invoke("noop", event) for _ in range(200)))  # warm up
        n = 0
        start = time.perf_counter()

        async def client() -> None:
            nonlocal n
            while time.perf_counter() - start < SECONDS:
                await pool.invoke("noop", event)
                n += 1

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
        return n / elapsed, pool.worker_count


def main() -> None:
    event = payload()
    data = orjson.dumps(event)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "noop.py").write_text(HANDLER)
        pool_rate, workers = asyncio.run(pooled(event, workdir))
    bare_rate = bare(data)
    result = {
        "pool_per_s": round(pool_rate),
        "bare_per_s": round(bare_rate),
        "ratio": round(pool_rate / bare_rate, 3),
        "payload_bytes": len(data),
        "workers": workers,
        "cpus": os.cpu_count(),
    }
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
