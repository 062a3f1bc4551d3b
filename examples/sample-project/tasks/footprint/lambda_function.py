"""footprint: bbox and spherical area of each item's polygon (a plain Lambda-style handler)."""

from __future__ import annotations

import logging
import math
import os
from typing import Any

logger = logging.getLogger("task.footprint")
EARTH_RADIUS_KM = 6371.0088


class InvalidInput(Exception):
    """Cirrus marks a payload INVALID (not FAILED) when a task raises an error of this name."""


def _ring_area_km2(ring: list[list[float]]) -> float:
    # the spherical excess of a lon/lat ring (good enough for scene footprints)
    total = 0.0
    for (lon1, lat1), (lon2, lat2) in zip(ring, ring[1:], strict=False):
        total += math.radians(lon2 - lon1) * (
            2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2))
        )
    return abs(total) * EARTH_RADIUS_KM**2 / 2


def _footprint(item: dict[str, Any], precision: int) -> None:
    geometry = item.get("geometry") or {}
    if geometry.get("type") != "Polygon":
        raise InvalidInput(f"item {item.get('id')} has no Polygon geometry")
    ring = [pt[:2] for pt in geometry["coordinates"][0]]
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    item["bbox"] = [min(lons), min(lats), max(lons), max(lats)]
    area = _ring_area_km2(ring)
    item.setdefault("properties", {})["footprint:area_km2"] = round(area, precision)


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    params = event.get("process", {})
    if isinstance(params, list):
        params = params[0]
    precision = int(params.get("tasks", {}).get("footprint", {}).get("precision", 3))
    for item in event.get("features", []):
        _footprint(item, precision)
    logger.info(
        "footprints for %d items (%s)",
        len(event.get("features", [])),
        os.environ["FOOTPRINT_UNITS"],
    )
    return event
