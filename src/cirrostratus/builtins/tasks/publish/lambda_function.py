"""The builtin publish task: write each item to the data store with self and canonical links.

Cirrus's publish (reference §4.5) behaviour, over our object stores so it works on a local folder
and on s3:// alike. Setting the record's outputs is the engine's job: it reads the `self` links
of the returned items, so this task needs no access to the state database.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from cirrostratus.payload import Payload, render_path, resolve
from cirrostratus.payload.templates import is_url
from cirrostratus.storage import StoreError, open_store, read_url


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@functools.lru_cache(maxsize=16)
def _store(root: str) -> Any:
    return open_store(root)


def _destination(template: str, item: dict[str, Any], data_root: str) -> tuple[Any, str]:
    """The store and key an item goes to: `<rendered path_template>/<id>.json` under the
    data store, or under the URL a full-URL template names. The store escapes and fits the
    key (storage/keys.py), so the href it gives opens with fsspec and pystac for any id."""
    rendered = render_path(template, item).rstrip("/") + f"/{item['id']}.json"
    if not is_url(rendered):
        return _store(data_root), rendered
    scheme, _, rest = rendered.partition("://")
    if scheme == "file":
        return _store("/"), rest
    bucket, _, key = rest.partition("/")
    return _store(f"{scheme}://{bucket}"), key


def _existing_created(url: str) -> str | None:
    try:
        existing = orjson.loads(read_url(url))
    except (StoreError, orjson.JSONDecodeError, OSError):
        return None
    created = existing.get("properties", {}).get("created")
    return created if isinstance(created, str) else None


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
        store, key = _destination(template, item, data_root)
        url = store.url(key)
        links = [ln for ln in item.get("links", []) if ln.get("rel") not in ("self", "canonical")]
        if api_url:
            catid = quote(payload.id, safe="/")  # an http URL: any id, percent-encoded
            links.append(
                {"title": payload.id, "rel": "via-cirrus", "href": f"{api_url}/catid/{catid}"}
            )
        item["links"] = [
            {"rel": "self", "href": url, "type": "application/json"},
            {"rel": "canonical", "href": url, "type": "application/json"},
            *links,
        ]
        props = item.setdefault("properties", {})
        props["created"] = _existing_created(url) or props.get("created") or now
        props["updated"] = now
        store.put_bytes(key, orjson.dumps(item, option=orjson.OPT_INDENT_2))
        urls.append(url)
    return urls


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    payload = Payload.from_dict(resolve(event, read_url))
    publish_items(payload, os.environ["CIRRUS_DATA_BUCKET"], os.environ.get("CIRRUS_API_URL"))
    return payload.to_dict()
