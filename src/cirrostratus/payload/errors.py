"""The one error this package raises: every problem with a payload, listed at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class PayloadError(ValueError):
    """A payload (or an envelope, template or id) that cannot be used as given.

    `problems` holds every problem found, each written as `"<where> <what is expected>"`
    (`process.workflow is required`), so a user fixes them all in one round instead of
    one per run. `source` names the file or stream the payload came from, when known.
    """

    def __init__(self, problems: str | Iterable[str], source: str | None = None) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        if not self.problems:
            self.problems = ["invalid payload"]
        self.source = source
        super().__init__(*self.problems)

    def with_source(self, source: str | None) -> PayloadError:
        """The same problems, attributed to `source` (kept if this error already has one)."""
        return PayloadError(self.problems, self.source or source)

    def prefixed(self, where: str) -> PayloadError:
        """The same problems located inside a larger document (`[2] features is required`)."""
        return PayloadError([f"{where} {p}" for p in self.problems], self.source)

    def __str__(self) -> str:
        head = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return head + self.problems[0]
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"{head}{len(self.problems)} problems in the payload:\n{lines}"

    def __reduce__(self) -> tuple[type[PayloadError], tuple[list[str], str | None]]:
        # picklable across worker processes with both attributes intact
        return (PayloadError, (self.problems, self.source))


def json_kind(value: Any) -> str:
    """How a JSON value is named in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__
