"""What can go wrong with a project: one Problem per finding, and the two exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a project, precise enough to fix without guessing.

    `file` is relative to the project root when it lies inside it; `key` is a dotted path
    into that file (`lambda.timeout`, `definition.States.publish`), empty for the whole file.
    """

    severity: Severity
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{self.severity}: {where}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "file": self.file,
            "key": self.key,
            "message": self.message,
        }


class ProjectError(Exception):
    """A project cannot be used at all (as opposed to Problems, which are reported and skipped)."""


class ProjectNotFound(ProjectError):
    """No `cirrus.yml` where we looked: the message says where and how to fix it."""
