"""The builtin feed-rerun feeder: locally `cirro rerun` does its work; say which command."""

from __future__ import annotations

import shlex
from typing import Any

OPTIONS = {
    "collections": "--collections",
    "workflow": "--workflow",
    "state": "--state",
    "since": "--since",
    "limit": "--limit",
    "error_begins_with": "--error",
}


def lambda_handler(event: Any, context: Any = None) -> Any:
    words = ["cirro", "rerun"]
    if isinstance(event, dict):
        for key, option in OPTIONS.items():
            value = event.get(key)
            if value not in (None, ""):
                words += [option, str(value).lower() if key == "state" else str(value)]
    raise NotImplementedError(
        "feed-rerun: locally run the payloads again with `cirro rerun` and the same filters: "
        + shlex.join(words)
    )
