"""The feed-rerun Lambda: payloads of a collections/workflow back to the process queue.

Cirrus's feeder: the event is `{collections, workflow, state?, since?, limit?,
error_begins_with?}`; the matching records are read from the state table and one
`{"url": "<payload bucket>/<payload id>/input.json"}` message per record is sent to the
process queue, in batches of 10; the answer is `{"found": n}`. Like Cirrus it does not set
`replace`, so only FAILED and ABORTED payloads run again. Cirrus's `batch` mode (the feeder
re-run as a Batch job for very large reruns) is not supported: the request runs here, with
a warning; use `limit` to split a rerun that would outlast the Lambda timeout.
"""

from __future__ import annotations

import logging
from typing import Any

from cirrostratus.aws.handlers import env

logger = logging.getLogger(__name__)
PAGE = 500


def lambda_handler(event: Any, context: Any = None) -> dict[str, int]:
    from cirrostratus.engine.process import input_key

    if not isinstance(event, dict) or not event.get("collections") or not event.get("workflow"):
        raise ValueError(
            'feed-rerun needs {"collections": ..., "workflow": ...} '
            "(and optionally state, since, limit, error_begins_with)"
        )
    if event.get("batch"):
        logger.warning("feed-rerun: batch mode is not supported; running in this Lambda")
    store = env.state_store()
    limit = int(event["limit"]) if event.get("limit") else None
    state = event.get("state")
    found: list[str] = []
    nextkey = None
    while limit is None or len(found) < limit:
        page = store.query(
            collections=str(event["collections"]),
            workflow=str(event["workflow"]),
            state=str(state).upper() if state else None,
            since=event.get("since") or None,
            error_prefix=event.get("error_begins_with") or None,
            limit=PAGE if limit is None else min(PAGE, limit - len(found)),
            nextkey=nextkey,
        )
        found += [r.payload_id for r in page.items]
        nextkey = page.nextkey
        if not nextkey or not page.items:
            break
    payloads = env.payload_store()
    bodies = [{"url": payloads.url(input_key(pid))} for pid in found]
    if bodies:
        env.process_queue().send_batch(bodies, payload_ids=found)
    return {"found": len(found)}
