"""What the builtin process function and feed-rerun feeder share locally: sending payloads to
the project's intake queue, the local twin of Cirrus's ProcessQueue.

Their handlers run in a lambda worker, not in the engine, so they reach the project through
the environment every local task gets: CIRRO_HOME (`.cirro/`) and CIRRUS_PAYLOAD_BUCKET
(where payloads over the transport threshold go, as `{"url": ...}`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def cirro_home(component: str) -> Path:
    """The project's `.cirro/` folder, or a clear error when not run through cirro."""
    home = os.environ.get("CIRRO_HOME")
    if not home:
        raise RuntimeError(
            f"{component}: CIRRO_HOME is not set; run it through cirro "
            f"(`cirro task run {component} EVENT`), which points it at the project's .cirro/"
        )
    return Path(home)


def send(component: str, payloads: Sequence[dict[str, Any]]) -> list[str | None]:
    """Queue `payloads` on the project's intake, each labelled with its payload id."""
    from cirrostratus.engine.process import derive_id
    from cirrostratus.intake import SqliteIntakeQueue
    from cirrostratus.payload import DEFAULT_THRESHOLD, to_transport_bytes
    from cirrostratus.storage import open_store

    home = cirro_home(component)
    store = open_store(os.environ["CIRRUS_PAYLOAD_BUCKET"])
    bodies = [
        to_transport_bytes(p, store, f"intake/{uuid.uuid4()}.json", DEFAULT_THRESHOLD)
        for p in payloads
    ]
    labels = [derive_id(p) for p in payloads]
    if bodies:
        with SqliteIntakeQueue(home / "intake.db") as intake:
            intake.send_batch(bodies, payload_ids=labels)
    return labels
