"""The api Lambda: Cirrus's state API routes over the DynamoDB state store.

API Gateway (`GET /` and `GET /{proxy+}`) proxy events; a leading stage segment is dropped.
The routes and shapes are Cirrus's (reference §4.4), with the record views of
`cirrostratus.api.views` so the deployed API answers as `cirro api` does locally:

| path                          | answer                                                  |
|-------------------------------|---------------------------------------------------------|
| `/`                           | `{id, description, links}` from `<data bucket>/catalog.json` |
| `/stats`                      | state transitions (daily, hourly, hourly_rolling); 404 without CIRRO_EVENTS_TABLE |
| `<cols>/workflow-<wf>`        | `{collections, workflow, counts}` (`since`, `limit`)     |
| `<cols>/workflow-<wf>/items`  | `{items, nextkey}` (`state`, `since`, `limit`, `nextkey`, `sort_ascending`, `sort_index`) |
| `<payload id>`                | the record; 404 when there is none                       |
| `item/…`, `collections/…`     | the same, in Cirrus's legacy view                        |

Anything else (a path without `/workflow-`) is 400 `"<path> not found"`, as Cirrus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from cirrostratus.aws.handlers import env

logger = logging.getLogger(__name__)
HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}
DEFAULT_LIMIT = 100_000  # Cirrus's default page size
NO_STATS = "Endpoint /stats is not enabled because timeseries database is not configured"


def response(body: Any, status: int = 200) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(HEADERS), "body": orjson.dumps(body).decode()}


def _path(event: Mapping[str, Any]) -> list[str]:
    path = unquote(str(event.get("path") or "/"))
    parts = [p for p in path.split("/") if p]
    stage = (event.get("requestContext") or {}).get("stage")
    if parts and stage and parts[0] == stage:
        parts = parts[1:]
    return parts


def _base(event: Mapping[str, Any]) -> str:
    ctx = event.get("requestContext") or {}
    domain = ctx.get("domainName") or (event.get("headers") or {}).get("Host") or "localhost"
    stage = ctx.get("stage")
    return f"https://{domain}/{stage}/" if stage else f"https://{domain}/"


def root(event: Mapping[str, Any]) -> dict[str, Any]:
    from cirrostratus.api import views
    from cirrostratus.storage import read_url

    base = _base(event)
    stac = f"{env.data_root().rstrip('/')}/catalog.json"
    try:
        catalog = orjson.loads(read_url(stac))
    except Exception as exc:
        logger.warning("no catalog at %s: %s", stac, exc)
        catalog = {}
    workflows = (catalog.get("cirrus") or {}).get("workflows") or {}
    pairs = [(str(c), str(w)) for c, ws in workflows.items() for w in ws or []]
    name = str(catalog.get("id") or "cirrus")
    out = views.root(base, name, pairs, stac)
    if catalog.get("description"):
        out["description"] = f"{catalog['description']} State API"
    return out


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    from cirrostratus.state import StateStoreError

    event = event if isinstance(event, Mapping) else {}
    try:
        return _route(event)
    except StateStoreError as exc:
        return response({"error": str(exc)}, 400)
    except env.ConfigError as exc:
        logger.error("api: %s", exc)
        return response({"error": str(exc)}, 500)


def _route(event: Mapping[str, Any]) -> dict[str, Any]:
    from cirrostratus.api import views
    from cirrostratus.engine.process import input_key
    from cirrostratus.state import StateStoreError

    parts = _path(event)
    params = dict(event.get("queryStringParameters") or {})
    if not parts:
        return response(root(event))
    store = env.state_store()
    if parts == ["stats"]:
        try:
            return response(store.stats())
        except StateStoreError:
            return response({"error": NO_STATS}, 404)
    view: Callable[..., dict[str, Any]] = views.current
    if parts[0] in ("item", "collections"):
        view = views.legacy
        parts = parts[1:]
    path = "/".join(parts)
    if "/workflow-" not in f"/{path}":
        return response(f"{path} not found", 400)
    collections, _, rest = path.partition("/workflow-")
    workflow, _, tail = rest.partition("/")
    limit = int(params.get("limit") or DEFAULT_LIMIT)
    if tail == "":
        counts = store.counts(
            collections=collections, workflow=workflow, since=params.get("since"), limit=limit
        )
        return response({"collections": collections, "workflow": workflow, "counts": counts})
    payloads = env.payload_store()
    if tail == "items":
        sort = {"state_updated": "state_changed"}.get(params.get("sort_index") or "", "updated")
        page = store.query(
            collections=collections,
            workflow=workflow,
            state=params.get("state") or None,
            since=params.get("since") or None,
            sort=sort,
            ascending=params.get("sort_ascending") in ("1", "true"),
            limit=limit,
            nextkey=params.get("nextkey") or None,
        )
        items = [view(r, payloads.url(input_key(r.payload_id))) for r in page.items]
        return response({"items": items, "nextkey": page.nextkey})
    record = store.get(path)
    if record is None:
        return response({"error": f"no payload {path}"}, 404)
    return response(view(record, payloads.url(input_key(record.payload_id))))
