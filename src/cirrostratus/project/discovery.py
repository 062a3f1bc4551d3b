"""Finding the project directory, the way Cirrus does it."""

from __future__ import annotations

import os
from pathlib import Path

from cirrostratus.project.problems import ProjectNotFound

CONFIG_NAME = "cirrus.yml"


def find_project(start: Path | None = None, explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the project root (the directory holding `cirrus.yml`), resolved to an absolute path.

    `explicit` (the CLI's `--project DIR` or env `CIRRUS_DIR`) must itself hold `cirrus.yml`;
    otherwise we walk up from `start` (default: the current directory) to the first
    directory that does. Raises ProjectNotFound with a hint when there is none.
    """
    if explicit is not None and str(explicit) != "":
        root = Path(explicit).expanduser().resolve()
        if not root.is_dir():
            raise ProjectNotFound(
                f"project directory {root} does not exist (from --project/CIRRUS_DIR)"
            )
        if not (root / CONFIG_NAME).is_file():
            raise ProjectNotFound(
                f"{root} is not a Cirrus project: it has no {CONFIG_NAME} "
                f"(run `cirro init {explicit}` to make one)"
            )
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    raise ProjectNotFound(
        f"no Cirrus project found: neither {here} nor any parent holds {CONFIG_NAME} "
        "(run `cirro init` to make one, or pass --project DIR / set CIRRUS_DIR)"
    )
