"""The builtin process function, locally: queue the event's payloads for the engine.

On AWS it is the intake that starts workflows; here the engine plays that part, so this handler
only unwraps the event as Cirrus's process does (SQS / SNS envelopes, url pointers) and sends
each payload to the project's intake queue, where `cirro serve` or the next `cirro run` takes it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from cirrostratus.engine.process import derive_id
from cirrostratus.intake import SqliteIntakeQueue
from cirrostratus.payload import DEFAULT_THRESHOLD, to_transport_bytes
from cirrostratus.payload.envelope import unwrap
from cirrostratus.storage import open_store


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    home = os.environ.get("CIRRO_HOME")
    if not home:
        raise RuntimeError(
            "process: CIRRO_HOME is not set; run this function through cirro "
            "(`cirro task run process EVENT`), which points it at the project's .cirro/"
        )
    payloads = unwrap(event)
    store = open_store(os.environ["CIRRUS_PAYLOAD_BUCKET"])
    bodies = [
        to_transport_bytes(p, store, f"intake/{uuid.uuid4()}.json", DEFAULT_THRESHOLD)
        for p in payloads
    ]
    labels = [derive_id(p) for p in payloads]
    with SqliteIntakeQueue(Path(home) / "intake.db") as intake:
        intake.send_batch(bodies, payload_ids=labels)
    return {"queued": len(bodies), "payload_ids": labels}
