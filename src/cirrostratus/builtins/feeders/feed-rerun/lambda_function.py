"""The builtin feed-rerun feeder, locally: Cirrus's event, answered from the local state store.

Cirrus's feeder finds the payloads of `collections` + `workflow` (optionally in `state`,
updated within `since`, with an error starting `error_begins_with`, at most `limit`) and sends
each one's stored input to the process queue again. Here the state store is `CIRRUS_STATE_DB`
and the queue the project's intake, so `cirro serve` (or the next `cirro run`) runs them.
Like Cirrus's, it does not set `replace`: FAILED and ABORTED payloads run again, COMPLETED
and INVALID ones are skipped by process (`cirro rerun` replaces them).
"""

from __future__ import annotations

import os
from typing import Any

from cirrostratus.builtins.local_intake import send
from cirrostratus.geo import feeding

PAGE = 500


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    from cirrostratus.engine.process import read_inputs
    from cirrostratus.state import SqliteStateStore
    from cirrostratus.storage import open_store

    if not isinstance(event, dict) or not event.get("collections") or not event.get("workflow"):
        raise ValueError(
            "feed-rerun needs `collections` and `workflow` (optionally state, since, limit, "
            "error_begins_with), e.g. --param collections=sentinel-2-l2a --param workflow=mirror"
        )
    wanted = feeding.whole_number(event, "limit", "feed-rerun") or None
    state = event.get("state")
    with SqliteStateStore(os.environ["CIRRUS_STATE_DB"]) as states:
        found: list[Any] = []
        nextkey = None
        while wanted is None or len(found) < wanted:
            page = states.query(
                collections=str(event["collections"]),
                workflow=str(event["workflow"]),
                state=str(state).upper() if state else None,
                since=event.get("since") or None,
                error_prefix=event.get("error_begins_with") or None,
                limit=PAGE if wanted is None else min(PAGE, wanted - len(found)),
                nextkey=nextkey,
            )
            found += page.items
            nextkey = page.nextkey
            if not nextkey or not page.items:
                break
    store = open_store(os.environ["CIRRUS_PAYLOAD_BUCKET"])
    payloads, skipped = read_inputs(store, [record.payload_id for record in found])
    skipped_ids = [pid for pid, _ in skipped]
    if event.get("output"):  # `cirro feed --dry-run / --run`: write them, queue nothing
        import json

        with open(event["output"], "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(p) + "\n" for p in payloads)
        return {"queued": 0, "payloads": len(payloads), "skipped": skipped_ids}
    labels = send("feed-rerun", payloads)
    return {"queued": len(labels), "payload_ids": labels, "skipped": skipped_ids}
