"""The builtin feed-stac-crawl feeder: walk a static STAC catalog, a payload per item.

Follows `child` and `item` links depth first from `catalog` (a path, file://, http(s):// or
s3:// URL), reading one document at a time: only the path being walked is held in memory.
Relative hrefs resolve against the document they appear in; asset hrefs are made absolute so
the tasks downstream can read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from cirrostratus.builtins.local_intake import send
from cirrostratus.geo import feeding
from cirrostratus.geo.assets import absolute_href
from cirrostratus.storage import read_url


def _absolute(base: str, href: str) -> str:
    return absolute_href({"links": [{"rel": "self", "href": base}]}, href)


def crawl(root: str, collections: list[str] | None) -> Iterator[dict[str, Any]]:
    """Every item reachable from `root`, in link order, with absolute hrefs."""
    stack = [root]
    seen: set[str] = set()
    while stack:
        url = stack.pop()
        if url in seen:
            continue
        seen.add(url)
        doc = json.loads(read_url(url))
        if doc.get("type") == "Feature":
            if collections and doc.get("collection") not in collections:
                continue
            for asset in (doc.get("assets") or {}).values():
                asset["href"] = _absolute(url, str(asset["href"]))
            links = [ln for ln in doc.get("links", []) if ln.get("rel") != "self"]
            doc["links"] = [{"rel": "self", "href": url, "type": "application/json"}, *links]
            for link in doc["links"]:
                link["href"] = _absolute(url, str(link["href"]))
            yield doc
            continue
        if collections and doc.get("type") == "Collection" and doc.get("id") not in collections:
            continue
        children = [
            _absolute(url, str(link["href"]))
            for link in doc.get("links", [])
            if link.get("rel") in ("child", "item")
        ]
        stack.extend(reversed(children))


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    root = event.get("catalog")
    if not root:
        raise ValueError(
            "feed-stac-crawl: `catalog` (the URL of a catalog.json) is required, "
            "e.g. --param catalog=$PWD/catalog.json"
        )
    collections = event.get("collections")
    if isinstance(collections, str):
        collections = [collections]
    most = feeding.whole_number(event, "max_items", "feed-stac-crawl")
    items = feeding.limited(crawl(str(root), collections), most)
    return feeding.emit(feeding.group(items, event.get("group_by")), event, "feed-stac-crawl", send)
