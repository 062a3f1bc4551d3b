"""JSON Schema checks with messages people can act on (`<key> must be array`).

jsonschema is imported here only, and this module only from validation paths, so loading a
project never pays for it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"


@cache
def _schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return data


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resources(
        (path.name, Resource.from_contents(_schema(path.name))) for path in SCHEMAS.glob("*.json")
    )
    return Draft202012Validator(_schema(name), registry=registry)


def check(instance: Any, schema: str | dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Validate `instance`; return (key, message) pairs sorted by key, key prefixed by `prefix`.

    `schema` is the file name of one of our schemas (`task.json`) or a schema dict.
    """
    if isinstance(schema, str):
        validator = _validator(schema)
    else:
        from jsonschema import validators

        validator = validators.validator_for(schema)(schema)
    found = [_describe(error, prefix) for error in validator.iter_errors(instance)]
    return sorted(set(found))


def check_schema(schema: Any) -> str | None:
    """None when `schema` is a valid JSON Schema, else what is wrong with it."""
    from jsonschema import SchemaError, validators

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        return str(exc.message)
    return None


def _describe(error: Any, prefix: str) -> tuple[str, str]:
    path = [str(p) for p in error.absolute_path]
    kind = error.validator
    message: str = error.message
    if kind == "required":
        missing = message.split("'")[1] if message.count("'") >= 2 else ""
        path.append(missing)
        message = "is required"
    elif kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"must be {expected}"
    elif kind == "enum":
        message = "must be one of: " + ", ".join(json.dumps(v) for v in error.validator_value)
    elif kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        message = f"has unexpected keys: {', '.join(extra)}"
    elif kind == "const":
        message = f"must be {json.dumps(error.validator_value)}"
    key = ".".join(p for p in [prefix.rstrip("."), *path] if p)
    return key, message
