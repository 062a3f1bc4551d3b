"""Where a project's local deployment keeps things, and the CIRRUS_* variables that say so.

Everything lives under `<project>/.cirro/` unless a Cirrus variable points elsewhere
(CIRRUS_DATA_BUCKET and CIRRUS_PAYLOAD_BUCKET may be folders or URLs such as s3://bucket).
Task workers get `cirrus_environment()` so task code finds the same places on every machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cirrostratus.storage.keys import file_url

LOCAL_DIR = ".cirro"


class CirrusEnvironment(dict[str, str]):
    """The CIRRUS_* variables, plus what answers `!Ref X` / `!GetAtt X.Attr` in a task's
    environment when the project's resources exist here (`--aws local`): `refs[X][attr]`."""

    refs: Mapping[str, Mapping[str, str]] = {}


def _as_url(value: str, base: Path) -> str:
    if "://" in value:
        return value.rstrip("/")
    path = Path(value)
    if not path.is_absolute():
        path = base / path
    return file_url(path)


@dataclass(frozen=True)
class Locations:
    """The local deployment of one project: state, payloads, data, logs, notifications."""

    root: Path
    state_db: Path
    payload_url: str
    data_url: str
    logs_dir: Path
    notifications_dir: Path
    intake_db: Path
    aws: Mapping[str, str] | None = None
    """With `--aws local`: what points task code at the local AWS (bare bucket names, the
    table, queue URLs, topic ARNs, endpoint, credentials), laid over the CIRRUS_* folders."""
    aws_refs: Mapping[str, Mapping[str, str]] | None = None
    """With `--aws local`: each created resource's `Ref` and attributes (see CirrusEnvironment)."""

    @classmethod
    def for_project(
        cls, project_root: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None
    ) -> Locations:
        """Locations for a project folder (or the cwd), honouring the CIRRUS_* overrides."""
        env = os.environ if env is None else env
        base = Path(project_root if project_root is not None else os.getcwd()).absolute()
        root = Path(env.get("CIRRO_HOME", base / LOCAL_DIR)).absolute()
        state_db = Path(env.get("CIRRUS_STATE_DB") or root / "state.db")
        if not state_db.is_absolute() or "://" in str(state_db):
            state_db = root / "state.db"
        return cls(
            root=root,
            state_db=state_db,
            intake_db=root / "intake.db",
            payload_url=_as_url(env.get("CIRRUS_PAYLOAD_BUCKET") or str(root / "payloads"), base),
            data_url=_as_url(env.get("CIRRUS_DATA_BUCKET") or str(root / "data"), base),
            logs_dir=root / "logs",
            notifications_dir=root / "notifications",
        )

    def cirrus_environment(self) -> dict[str, str]:
        """The CIRRUS_* variables a locally running task sees (the local twin of the stack's)."""
        env = CirrusEnvironment(
            {
                "CIRRUS_DATA_BUCKET": self.data_url,
                "CIRRUS_PAYLOAD_BUCKET": self.payload_url,
                "CIRRUS_STATE_DB": str(self.state_db),
                "CIRRUS_LOG_DIR": str(self.logs_dir),
                "CIRRO_HOME": str(self.root),
            }
        )
        if self.aws:
            env.update(self.aws)
        if self.aws_refs:
            env.refs = self.aws_refs
        return env

    def ensure(self) -> Locations:
        """Create the local folders (not the remote ones)."""
        for path in (self.root, self.logs_dir, self.notifications_dir, self.state_db.parent):
            path.mkdir(parents=True, exist_ok=True)
        return self
