"""The builtin update-state function: locally the engine's own update step does its work."""

from __future__ import annotations

from typing import Any


def lambda_handler(event: Any, context: Any = None) -> Any:
    raise NotImplementedError(
        "update-state: locally the engine records each execution's outcome, notifies and "
        "chains as the execution ends; there is nothing to invoke (see `cirro payload state`)"
    )
