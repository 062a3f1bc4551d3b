"""The builtin process function, locally: queue the event's payloads for the engine.

On AWS it is the intake that starts workflows; here the engine plays that part, so this handler
only unwraps the event as Cirrus's process does (SQS / SNS envelopes, url pointers) and sends
each payload to the project's intake queue, where `cirro serve` or the next `cirro run` takes it.
"""

from __future__ import annotations

from typing import Any

from cirrostratus.builtins.local_intake import send
from cirrostratus.payload.envelope import unwrap


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    labels = send("process", unwrap(event))
    return {"queued": len(labels), "payload_ids": labels}
