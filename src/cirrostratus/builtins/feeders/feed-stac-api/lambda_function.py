"""The builtin feed-stac-api feeder: search a STAC API with pystac-client, a payload per item
(or per group of items sharing a property).

pystac-client pages through the results; items are sent in batches as they arrive, so a
search of 100,000 items never sits in memory.
"""

from __future__ import annotations

from typing import Any

from cirrostratus.builtins.local_intake import send
from cirrostratus.geo import feeding

SEARCH_KEYS = ("collections", "bbox", "intersects", "datetime", "query", "filter", "sortby", "ids")


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from pystac_client import Client

    url = event.get("url")
    if not url:
        raise ValueError(
            "feed-stac-api: `url` (the STAC API's root) is required, "
            "e.g. --param url=https://earth-search.aws.element84.com/v1"
        )
    search = {key: event[key] for key in SEARCH_KEYS if event.get(key) not in (None, "")}
    if event.get("filter") is not None:
        search["filter_lang"] = event.get("filter_lang", "cql2-json")
    feeding.template(event, "feed-stac-api")
    most = feeding.whole_number(event, "max_items", "feed-stac-api")
    page_size = feeding.whole_number(event, "page_size", "feed-stac-api") or 100
    client = Client.open(str(url))
    found = client.search(**search, max_items=most, limit=page_size)
    items = found.items_as_dicts()
    return feeding.emit(feeding.group(items, event.get("group_by")), event, "feed-stac-api", send)
