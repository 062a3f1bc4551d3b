"""Validate STAC items offline, against the JSON schemas shipped with the package.

pystac ships the core item schema; the raster and projection extension schemas the geo tasks
declare ship here (`schemas/`, from stac-extensions, Apache-2.0). Any other remote schema is
refused instead of fetched, so validation never needs the network.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SHIPPED = {
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json": "raster-v1.1.0.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json": "projection-v2.0.0.json",
}


def _shipped(name: str) -> dict[str, Any]:
    text = resources.files("cirrostratus.geo").joinpath("schemas", name).read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def offline_validator() -> Any:
    """A pystac validator whose schema cache holds every schema it may need."""
    from pystac.validation.local_validator import get_local_schema_cache
    from pystac.validation.stac_validator import JsonSchemaSTACValidator

    class OfflineValidator(JsonSchemaSTACValidator):
        def _get_schema(self, schema_uri: str) -> dict[str, Any]:
            if schema_uri not in self.schema_cache:
                raise ValueError(
                    f"schema {schema_uri} is not shipped with cirrostratus (no network here); "
                    "declare only core, raster v1.1.0 and projection v2.0.0"
                )
            schema: dict[str, Any] = self.schema_cache[schema_uri]
            return schema

    validator = OfflineValidator()
    validator.schema_cache.update(get_local_schema_cache())
    validator.schema_cache.update({uri: _shipped(name) for uri, name in SHIPPED.items()})
    return validator


def validate_item(item: dict[str, Any]) -> list[str]:
    """Validate one item dict; return the schema URIs it passed. Raises on a failure."""
    import pystac
    from pystac.validation import validate_dict

    schemas: list[str] = validate_dict(
        item, stac_object_type=pystac.STACObjectType.ITEM, validator=offline_validator()
    )
    return schemas
