"""What `POST /payloads` and `POST /rerun` accept, checked before anything is queued.

Both write routes refuse bad input whole, with one message saying what to change: a submit
body must hold payloads that validate (never a `{"url"}`, which would make the server read a
file or URL a request names); a rerun must name payload ids that exist, or filters that the
state store accepts, and at most RERUN_MAX of them. Queuing itself stays in the backend,
which knows where its intake is.
"""

from __future__ import annotations

from typing import Any

import orjson

from cirrostratus.api.errors import BadRequest, NotFound
from cirrostratus.state import StateStoreError

#: Most records one rerun request may queue.
RERUN_MAX = 10_000


def read_submission(body: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    """The payloads a submit body holds (one, a list, or envelopes holding them) and their
    payload ids; BadRequest naming every problem when any payload does not validate."""
    from cirrostratus.payload import Payload, PayloadError, unwrap

    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not JSON: {exc}") from None
    try:
        raw = unwrap(doc, _refuse_urls)
    except PayloadError as exc:
        raise BadRequest(str(exc)) from None
    if not raw:
        raise BadRequest("no payload found (the body is an empty list)")
    problems: list[str] = []
    ids: list[str] = []
    for i, data in enumerate(raw):
        try:
            ids.append(Payload.from_dict(data).id)
        except PayloadError as exc:
            found = exc.problems if len(raw) == 1 else exc.prefixed(f"[{i}]").problems
            problems.extend(found)
    if problems:
        raise BadRequest("; ".join(problems))
    return raw, ids


def rerun_targets(store: Any, filters: dict[str, Any], payload_ids: list[str]) -> list[str]:
    """The payload ids a rerun request chooses: the named ids (each must exist), else the
    records matching `filters` (its `limit`, default 1000, is taken out of it here)."""
    limit = int(filters.pop("limit", None) or 1000)
    if limit > RERUN_MAX:
        raise BadRequest(f"limit={limit} is over {RERUN_MAX}; rerun in smaller steps")
    chosen: list[str] = []
    if payload_ids:
        from cirrostratus.api.security import payload_id_problem

        for pid in payload_ids:
            problem = payload_id_problem(pid) or (
                None if "/workflow-" in pid else "a payload id has a /workflow- part"
            )
            if problem is not None:
                raise BadRequest(f"{problem}: {pid[:200]!r}")
        found = store.get_many(payload_ids)
        missing = [p for p in payload_ids if p not in found]
        if missing:
            raise NotFound(f"no payload with id {missing[0]!r}")
        return list(dict.fromkeys(payload_ids))
    if not any(v is not None for v in filters.values()):
        raise BadRequest(
            "say what to rerun: payload_ids, or at least one of state, workflow, "
            "collections, since, error_prefix"
        )
    try:
        for record in store.iter_query(**filters, limit=min(limit, 500)):
            chosen.append(record.payload_id)
            if len(chosen) >= limit:
                break
    except (StateStoreError, ValueError) as exc:
        raise BadRequest(str(exc)) from None
    return chosen


def _refuse_urls(url: str) -> bytes:
    from cirrostratus.payload import PayloadError

    raise PayloadError(
        f"{{'url': {url!r}}}: the API does not fetch payloads by URL; send the payload itself"
    )
