"""The builtin api function: locally, the `cirro payload` / `cirro query` commands answer."""

from __future__ import annotations

from typing import Any


def lambda_handler(event: Any, context: Any = None) -> Any:
    raise NotImplementedError(
        "api: there is no local HTTP API yet; ask `cirro query` (by collections, workflow, "
        "state, since) or `cirro payload state <payload id>` instead"
    )
