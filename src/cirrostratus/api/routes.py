"""The fixed routes: `/`, `/stats`, `/overview`, `/events`, `/metrics`, `POST /payloads`,
`POST /rerun`. (The payload routes, whose paths hold slashes, are in app.py.)"""

# no `from __future__ import annotations`: FastAPI reads these annotations at runtime

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from cirrostratus.api import models, views
from cirrostratus.api.backend import ApiBackend
from cirrostratus.api.metrics import render_metrics

#: How often the event stream looks at the event log, and sends a comment to keep it open.
EVENT_POLL_S = 0.25
KEEPALIVE_S = 15.0

PAYLOADS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": "a payload (a FeatureCollection with `process`), a list of "
                "them, or SQS/SNS envelopes holding them",
                "oneOf": [
                    {"type": "object"},
                    {"type": "array", "items": {"type": "object"}},
                ],
            }
        }
    },
}


def add_routes(app: FastAPI, backend: ApiBackend, writer: Callable[..., None]) -> None:
    Writer = Depends(writer)

    @app.get("/", tags=["cirrus"], response_model=models.Root)
    def root(request: Request) -> Any:
        """Links to each collections/workflow's summary, the dashboard and the STAC catalog."""
        return views.root(
            str(request.base_url), backend.service_name(), backend.pairs(), backend.stac_url()
        )

    @app.get(
        "/stats",
        tags=["cirrus"],
        response_model=models.Stats,
        responses={404: {"model": models.Error, "description": "a deployment without events"}},
    )
    def stats() -> Any:
        """Transitions per state: daily over 60 days, hourly over 36 hours, and the last two
        rolling hours; every state zero-filled. Computed from the event log (at most every
        30 s), so it is always enabled for a project; over a deployment without an events
        table (a Cirrus 0.9 stack) it answers Cirrus's 404 "not enabled"."""
        return backend.stats()

    @app.get(
        "/asset",
        tags=["dashboard"],
        response_class=FileResponse,
        responses={
            200: {"content": {"image/png": {}}, "description": "the image"},
            400: {"model": models.Error},
            403: {"model": models.Error},
            404: {"model": models.Error},
            501: {"model": models.Error},
        },
    )
    def asset(
        href: Annotated[str, Query(description="file:// URL, or a path in the data store")],
    ) -> Any:
        """An image of the project's local data store (an output item's thumbnail), read-only:
        what `href` names must resolve, symlinks followed, inside the data store's folder."""
        path, media = backend.data_file(href)
        return FileResponse(path, media_type=media, headers={"X-Content-Type-Options": "nosniff"})

    @app.get("/overview", tags=["dashboard"], response_model=models.Overview)
    def overview() -> Any:
        """Counts per state of every collections/workflow, payloads waiting in the intake,
        and dead letters: the dashboard's table (recomputed at most every 2 s)."""
        queue = backend.intake.counts()
        return {
            "workflows": backend.overview(),
            "queued": int(queue.visible + queue.in_flight + queue.delayed),
            "dead_letters": int(queue.dead),
        }

    @app.post(
        "/payloads",
        tags=["write"],
        status_code=202,
        dependencies=[Writer],
        response_model=models.Submitted,
        responses={400: {"model": models.Error}, 401: {"model": models.Error}},
        openapi_extra={"requestBody": PAYLOADS_BODY},
    )
    async def submit(request: Request) -> Any:
        """Queue payloads for the engine (`cirro submit`); returns their payload ids. Every
        payload is validated first: one bad payload refuses the whole request (400)."""
        body = await request.body()
        return await run_in_threadpool(backend.submit, body)

    @app.post(
        "/rerun",
        tags=["write"],
        status_code=202,
        dependencies=[Writer],
        response_model=models.Rerun,
        responses={
            400: {"model": models.Error},
            401: {"model": models.Error},
            404: {"model": models.Error},
        },
    )
    def rerun(request_body: models.RerunRequest) -> Any:
        """Queue payloads again from their stored input, with replace: `payload_ids`, or
        the filters of `cirro rerun` (state, workflow, collections, since, error_prefix)."""
        data = request_body.model_dump()
        ids = data.pop("payload_ids")
        dry_run = data.pop("dry_run")
        if data["state"] is not None:
            data["state"] = data["state"].upper()
        return backend.rerun(data, ids, dry_run)

    @app.get(
        "/events",
        tags=["live"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "transitions"}},
    )
    async def events(
        request: Request,
        after: Annotated[int | None, Query(ge=0, description="events after this seq")] = None,
        payload_id: Annotated[str | None, Query(description="only this payload's")] = None,
        limit: Annotated[int | None, Query(ge=1, description="close after this many")] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Server-sent events, one per state transition (`event: transition`, `id:` its
        sequence number; reconnecting clients resume after Last-Event-ID). Without `after`
        the stream starts with what happens next."""
        if after is None and last_event_id and last_event_id.isdigit():
            after = int(last_event_id)
        start = after if after is not None else await run_in_threadpool(backend.last_event_seq)
        stream = _event_stream(backend, request, start, payload_id, limit)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get(
        "/metrics",
        tags=["live"],
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
    )
    def metrics() -> Any:
        """Prometheus text format: payloads by state, transitions/s over the last minute,
        task durations by task (last 1,000 executions), intake depth, executions running."""
        return PlainTextResponse(
            render_metrics(backend), media_type="text/plain; version=0.0.4; charset=utf-8"
        )


async def _event_stream(
    backend: ApiBackend, request: Request, after: int, payload_id: str | None, limit: int | None
) -> AsyncIterator[bytes]:
    sent = 0
    quiet = 0.0
    yield b"retry: 2000\n\n"
    while limit is None or sent < limit:
        if await request.is_disconnected():
            return
        found = await run_in_threadpool(
            backend.events_after, payload_id, after, min(500, (limit or 500) - sent)
        )
        for event in found:
            after = event.seq
            data = {
                "seq": event.seq,
                "time": event.time,
                "payload_id": event.payload_id,
                "from": str(event.from_state) if event.from_state else None,
                "to": str(event.to_state) if event.to_state else None,
                "execution_id": event.execution_id,
                "error": event.error,
            }
            yield b"id: %d\nevent: transition\ndata: %s\n\n" % (event.seq, orjson.dumps(data))
            sent += 1
        if not found:
            await asyncio.sleep(EVENT_POLL_S)
            quiet += EVENT_POLL_S
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield b": keep-alive\n\n"
        else:
            quiet = 0.0
