"""The FastAPI application: Cirrus's routes first, then ours, then the dashboard.

    app = create_app(ApiBackend(engine, token=...))

Routes match in the order they are added. Fixed paths (`/stats`, `/events`, `/payloads`, …)
come first; then the legacy views (`/item/…`, `/collections/…`); then the payload routes,
whose collections part may itself hold slashes (`a/b/workflow-w/...`): `/items`, a payload's
sub-views (`…/executions`, `…/history`, `…/logs`, `…/input`, `…/output`), a payload, a
workflow summary; anything else is Cirrus's 400 `"<path> not found"`.
"""

# no `from __future__ import annotations`: FastAPI reads these annotations at runtime

from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cirrostratus.api import models, views
from cirrostratus.api.assets import Forbidden
from cirrostratus.api.backend import ApiBackend
from cirrostratus.api.errors import BadRequest, NotFound, NotServed
from cirrostratus.api.middleware import Guard
from cirrostratus.api.security import DEFAULT_MAX_BODY, payload_id_problem, token_matches

STATIC = Path(__file__).parent / "static"
#: Most records one `/items` page returns, whatever `limit` asks (DynamoDB's 1 MB page
#: capped Cirrus's pages the same way); `nextkey` continues.
PAGE_MAX = 1000
SUBVIEWS = ("executions", "history", "logs", "input", "output")
SORT_INDEX = {
    "updated": "updated",
    "state_updated": "state_changed",
    "state_changed": "state_changed",
}


class OrjsonResponse(JSONResponse):
    """JSON by orjson. Hot routes return one directly: FastAPI would otherwise pass a plain
    dict through `jsonable_encoder` (30 ms for a page of 100 records)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def error(status: int, message: str) -> OrjsonResponse:
    return OrjsonResponse({"error": message}, status_code=status)


def create_app(backend: ApiBackend, *, max_body: int = DEFAULT_MAX_BODY) -> FastAPI:
    """The API and dashboard over `backend`; write routes need `backend.token`."""
    app = FastAPI(
        title="Cirrostratus state API",
        version="1",
        description=(
            "Cirrus's state API routes and shapes, plus submit, rerun, histories, logs, "
            "server-sent events and Prometheus metrics. Write routes need "
            "`Authorization: Bearer <token>` (CIRRO_API_TOKEN, or the token printed at start). "
            'Any other path answers Cirrus\'s 400 with the JSON string `"<path> not found"`.'
        ),
        default_response_class=OrjsonResponse,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.backend = backend
    app.add_middleware(Guard, max_body=max_body)
    bearer = HTTPBearer(auto_error=False, description="CIRRO_API_TOKEN")

    def writer(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if not token_matches(request.headers.get("authorization"), backend.token):
            raise HTTPException(
                401,
                "write routes need Authorization: Bearer <token> (CIRRO_API_TOKEN)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return error(404, str(exc))

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> Response:
        return error(400, str(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return error(403, str(exc))

    @app.exception_handler(NotServed)
    async def not_served(request: Request, exc: NotServed) -> Response:
        return error(501, str(exc))

    @app.exception_handler(StarletteHTTPException)  # FastAPI's and the router's own 404/405
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return OrjsonResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)

    from cirrostratus.api.routes import add_routes

    add_routes(app, backend, writer)
    app.mount("/ui", StaticFiles(directory=STATIC, html=True), name="ui")
    add_payload_routes(app, backend)
    return app


def checked_id(payload_id: str) -> str:
    problem = payload_id_problem(payload_id)
    if problem is not None:
        raise BadRequest(f"{problem}: {payload_id[:200]!r}")
    return payload_id


def add_payload_routes(app: FastAPI, backend: ApiBackend) -> None:
    """Cirrus's `<collections>/workflow-<wf>[...]` routes, their legacy twins, and a
    payload's sub-views."""

    def summary(collections: str, workflow: str, since: str | None, limit: int) -> Any:
        checked_id(f"{collections}/workflow-{workflow}")
        return backend.summary(collections, workflow, since, limit)

    def items(
        collections: str, workflow: str, legacy: bool, params: dict[str, Any]
    ) -> dict[str, Any]:
        checked_id(f"{collections}/workflow-{workflow}")
        sort = SORT_INDEX.get(params["sort_index"])
        if sort is None:
            raise BadRequest(
                f"sort_index={params['sort_index']!r} is not supported; use updated or "
                "state_updated"
            )
        found, nextkey = backend.items(
            collections=collections,
            workflow=workflow,
            state=params["state"],
            since=params["since"],
            error_prefix=params["error_prefix"],
            sort=sort,
            ascending=bool(params["sort_ascending"]),
            limit=min(params["limit"], PAGE_MAX),
            nextkey=params["nextkey"],
        )
        view = views.legacy if legacy else views.current
        return {
            "items": [view(r, backend.input_url(r.payload_id)) for r in found],
            "nextkey": nextkey,
        }

    def one(payload_id: str, legacy: bool) -> dict[str, Any]:
        record = backend.record(checked_id(payload_id))
        view = views.legacy if legacy else views.current
        return view(record, backend.input_url(record.payload_id))

    State = Annotated[str | None, Query(description="CLAIMED, PROCESSING, COMPLETED, …")]
    Since = Annotated[str | None, Query(description="10m, 8h, 2d, 1w")]
    Limit = Annotated[int, Query(ge=1, description="counts over it read 'N+'")]

    def item_params(
        state: State = None,
        since: Since = None,
        limit: Annotated[int, Query(ge=1, description=f"page size (at most {PAGE_MAX})")] = 100000,
        sort_ascending: Annotated[int, Query(ge=0, le=1)] = 0,
        sort_index: Annotated[str, Query(description="updated or state_updated")] = "updated",
        nextkey: Annotated[str | None, Query(description="from the previous page")] = None,
        error_prefix: Annotated[str | None, Query(description="last_error starts with")] = None,
    ) -> dict[str, Any]:
        return locals()

    Params = Annotated[dict[str, Any], Depends(item_params)]

    def dispatch(rest: str, legacy: bool, request: Request, params: dict[str, Any]) -> Any:
        """The legacy prefixes take any path after them, as Cirrus splits it."""
        collections, sep, tail = rest.partition("/workflow-")
        if not sep:
            return OrjsonResponse(f"{request.url.path} not found", status_code=400)
        workflow, _, itemids = tail.partition("/")
        if itemids == "":
            return OrjsonResponse(summary(collections, workflow, params["since"], params["limit"]))
        if itemids == "items":
            return OrjsonResponse(items(collections, workflow, legacy, params))
        return OrjsonResponse(one(rest, legacy))

    @app.get("/item/{rest:path}", response_model=None, tags=["cirrus"], responses=_legacy_docs())
    def legacy_item(rest: str, request: Request, params: Params) -> Any:
        """Cirrus's legacy view of a payload (or summary / items)."""
        return dispatch(rest, True, request, params)

    @app.get(
        "/collections/{rest:path}", response_model=None, tags=["cirrus"], responses=_legacy_docs()
    )
    def legacy_collections(rest: str, request: Request, params: Params) -> Any:
        """Cirrus's legacy view, by its `collections/` prefix."""
        return dispatch(rest, True, request, params)

    @app.get(
        "/{collections:path}/workflow-{workflow}/items",
        tags=["cirrus"],
        responses={200: {"model": models.Items}, 400: {"model": models.Error}},
    )
    def workflow_items(collections: str, workflow: str, params: Params) -> Any:
        """One page of a workflow's records, newest first; `nextkey` continues (Cirrus
        drops it; we return it so clients can page)."""
        return OrjsonResponse(items(collections, workflow, False, params))

    def subview(collections: str, workflow: str, itemids: str, view: str) -> str:
        payload_id = checked_id(f"{collections}/workflow-{workflow}/{itemids}")
        if backend.store.get(payload_id) is None:
            whole = f"{payload_id}/{view}"  # an item id that is itself e.g. "history"
            if backend.store.get(whole) is not None:
                raise _IsPayload(whole)
            raise NotFound(f"no payload with id {payload_id!r}")
        return payload_id

    @app.get(
        "/{collections:path}/workflow-{workflow}/{itemids:path}/executions",
        tags=["payload"],
        responses={
            200: {"model": list[models.Execution]},
            400: {"model": models.Error},
            404: {"model": models.Error},
        },
    )
    def executions(collections: str, workflow: str, itemids: str) -> Any:
        """Every execution of the payload with the states it visited and their timings."""
        try:
            pid = subview(collections, workflow, itemids, "executions")
        except _IsPayload as exc:
            return OrjsonResponse(one(exc.payload_id, False))
        return OrjsonResponse(backend.executions(pid))

    @app.get(
        "/{collections:path}/workflow-{workflow}/{itemids:path}/history",
        tags=["payload"],
        responses={
            200: {"model": models.History},
            400: {"model": models.Error},
            404: {"model": models.Error},
        },
    )
    def history(collections: str, workflow: str, itemids: str) -> Any:
        """The payload's states as spans (from the event log): start, end, seconds, error."""
        try:
            pid = subview(collections, workflow, itemids, "history")
        except _IsPayload as exc:
            return OrjsonResponse(one(exc.payload_id, False))
        data = backend.history_of(pid)
        data["traceback"] = backend.traceback(pid)
        return OrjsonResponse(data)

    @app.get(
        "/{collections:path}/workflow-{workflow}/{itemids:path}/logs",
        tags=["payload"],
        response_class=Response,
        responses={
            200: {"content": {"application/x-ndjson": {}}, "description": "JSON lines"},
            400: {"model": models.Error},
            404: {"model": models.Error},
            501: {"model": models.Error, "description": "no log store this API can read"},
        },
    )
    def logs(collections: str, workflow: str, itemids: str) -> Any:
        """The task output of the payload's executions, streamed as JSON lines."""
        from fastapi.responses import StreamingResponse

        try:
            pid = subview(collections, workflow, itemids, "logs")
        except _IsPayload as exc:
            return OrjsonResponse(one(exc.payload_id, False))
        lines = (orjson.dumps(r) + b"\n" for r in backend.logs(pid))
        return StreamingResponse(lines, media_type="application/x-ndjson")

    def stored(collections: str, workflow: str, itemids: str, which: str) -> Any:
        try:
            pid = subview(collections, workflow, itemids, which)
        except _IsPayload as exc:
            return OrjsonResponse(one(exc.payload_id, False))
        return Response(backend.stored(pid, which), media_type="application/json")

    stored_docs: dict[int | str, dict[str, Any]] = {
        200: {"content": {"application/json": {}}, "description": "the payload"},
        400: {"model": models.Error},
        404: {"model": models.Error},
    }

    @app.get(
        "/{collections:path}/workflow-{workflow}/{itemids:path}/input",
        tags=["payload"],
        response_class=Response,
        responses=stored_docs,
    )
    def input_payload(collections: str, workflow: str, itemids: str) -> Any:
        """The stored input payload."""
        return stored(collections, workflow, itemids, "input")

    @app.get(
        "/{collections:path}/workflow-{workflow}/{itemids:path}/output",
        tags=["payload"],
        response_class=Response,
        responses=stored_docs,
    )
    def output_payload(collections: str, workflow: str, itemids: str) -> Any:
        """The stored output payload (404 until it completes)."""
        return stored(collections, workflow, itemids, "output")

    @app.get(
        "/{collections:path}/workflow-{workflow}/{itemids:path}",
        tags=["cirrus"],
        responses={
            200: {"model": models.Record},
            400: {"model": models.Error},
            404: {"model": models.Error},
        },
    )
    def payload(collections: str, workflow: str, itemids: str) -> Any:
        """One payload's record, Cirrus's current view (`catid`, `catalog` added)."""
        return OrjsonResponse(one(f"{collections}/workflow-{workflow}/{itemids}", False))

    @app.get(
        "/{collections:path}/workflow-{workflow}",
        tags=["cirrus"],
        responses={200: {"model": models.Summary}, 400: {"model": models.Error}},
    )
    def workflow_summary(
        collections: str, workflow: str, since: Since = None, limit: Limit = 100000
    ) -> Any:
        """Counts per state of one collections/workflow (Cirrus's summary)."""
        return OrjsonResponse(summary(collections, workflow, since, limit))

    @app.get("/{path:path}", include_in_schema=False)  # described in the API description
    def unknown(path: str, request: Request) -> Any:
        """Anything else: Cirrus's 400 `"<path> not found"`."""
        if path == "ui":
            return RedirectResponse("/ui/")
        return OrjsonResponse(f"{request.url.path} not found", status_code=400)


class _IsPayload(Exception):
    def __init__(self, payload_id: str) -> None:
        self.payload_id = payload_id


def _legacy_docs() -> dict[int | str, dict[str, Any]]:
    return {
        200: {"model": models.LegacyRecord},
        400: {"description": 'a bad parameter ({"error"}), or Cirrus\'s "<path> not found"'},
        404: {"model": models.Error},
    }
