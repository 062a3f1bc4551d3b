"""The builtin publish task: write each item to the data store with self and canonical links.

Cirrus's publish (reference §4.5) behaviour, over our object stores so it works on a local folder
and on s3:// alike. Setting the record's outputs is the engine's job: it reads the `self` links
of the returned items, so this task needs no access to the state database.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import orjson

from cirrostratus.payload import Payload, render_path, resolve
from cirrostratus.storage import open_store, read_url
from cirrostratus.storage.store import StoreError


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _target(template: str, item: dict[str, Any], data_root: str) -> str:
    rendered = render_path(template, item).rstrip("/") + f"/{item['id']}.json"
    if "://" in rendered:
        return rendered
    return open_store(data_root).url(rendered)


def _existing_created(url: str) -> str | None:
    try:
        existing = orjson.loads(read_url(url))
    except (StoreError, orjson.JSONDecodeError, OSError):
        return None
    created = existing.get("properties", {}).get("created")
    return created if isinstance(created, str) else None


def _write(url: str, item: dict[str, Any]) -> None:
    data = orjson.dumps(item, option=orjson.OPT_INDENT_2)
    if url.startswith("file://"):
        root, _, key = url.rpartition("/")
        open_store(root).put_bytes(key, data)
        return
    import fsspec

    with fsspec.open(url, "wb") as fh:
        fh.write(data)


def publish_items(payload: Payload, data_root: str, api_url: str | None = None) -> list[str]:
    """Publish every item of the payload in place; return the URLs written."""
    template = payload.upload_options.get("path_template")
    if not isinstance(template, str) or not template:
        raise ValueError(
            "publish: upload_options.path_template is required (e.g. "
            "'${collection}/${year}/${month}/${id}') in the payload's process block"
        )
    now = _now()
    urls = []
    for item in payload.features:
        url = _target(template, item, data_root)
        links = [ln for ln in item.get("links", []) if ln.get("rel") not in ("self", "canonical")]
        if api_url:
            links.append(
                {"title": payload.id, "rel": "via-cirrus", "href": f"{api_url}/catid/{payload.id}"}
            )
        item["links"] = [
            {"rel": "self", "href": url, "type": "application/json"},
            {"rel": "canonical", "href": url, "type": "application/json"},
            *links,
        ]
        props = item.setdefault("properties", {})
        props["created"] = _existing_created(url) or props.get("created") or now
        props["updated"] = now
        _write(url, item)
        urls.append(url)
    return urls


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    payload = Payload.from_dict(resolve(event, read_url))
    publish_items(payload, os.environ["CIRRUS_DATA_BUCKET"], os.environ.get("CIRRUS_API_URL"))
    return payload.to_dict()
