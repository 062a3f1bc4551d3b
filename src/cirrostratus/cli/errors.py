"""The one exception type commands raise to end with a message and an exit code."""

from __future__ import annotations


class CliError(Exception):
    """A user-facing failure: printed as `Error: <message>` with no traceback.

    exit_code 1 means "problems found / the work failed", 2 means "usage error".
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
