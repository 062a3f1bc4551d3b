"""What a build returns, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class BuildError(Exception):
    """A project that cannot become a template or a package; the message names the file,
    the field and the fix, and is all `cirro build` shows."""


class PackageTooLarge(BuildError):
    """A lambda package over Lambda's size limits."""


@dataclass
class BuildResult:
    """The output of `build_project`.

    `packages` maps each zip's S3 key (content-addressed, `cirro/<stage>/<name>-<sha12>.zip`,
    exactly the `Code.S3Key` in the template) to the local zip; `cirro deploy` uploads each
    zip under its key to the bucket it passes as the `DeploymentBucket` parameter.
    """

    template: dict[str, Any]
    template_path: Path
    packages: dict[str, Path] = field(default_factory=dict)
    stage: str = "dev"
    region: str = "us-west-2"
    warnings: list[str] = field(default_factory=list)

    @property
    def yaml_path(self) -> Path:
        return self.template_path.with_suffix(".yaml")
