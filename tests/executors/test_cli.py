"""`cirro run --executor dask`: the options, the refusal, and a LocalCluster of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from .conftest import make_payload


def _cirro(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CIRRUS_", "DASK_"))}
    return subprocess.run(
        [sys.executable, "-m", "cirrostratus", "--project", str(root), *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=240,
    )


def test_a_remote_scheduler_with_local_folders_is_refused_before_anything_starts(
    project: Path,
) -> None:
    (project / "p.json").write_bytes(orjson.dumps(make_payload("mixed")))
    out = _cirro(
        project,
        "run",
        "--executor",
        "dask",
        str(project / "p.json"),
        env={"DASK_SCHEDULER_ADDRESS": "tcp://10.255.0.1:8786"},
    )
    assert out.returncode == 2, out.stderr
    assert "CIRRUS_DATA_BUCKET" in out.stderr and "s3://" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (project / ".cirro" / "state.db").exists() or "QUEUED" not in out.stderr


def test_run_starts_its_own_local_cluster(project: Path) -> None:
    (project / "p.json").write_bytes(orjson.dumps(make_payload("mixed")))
    out = _cirro(
        project, "run", "--executor", "dask", "--dask-workers", "1", str(project / "p.json")
    )
    assert out.returncode == 0, out.stderr
    assert "dask: LocalCluster with 1 worker process, 1 workers;" in out.stderr
    assert "dashboard" in out.stderr
    assert "1 COMPLETED" in out.stdout


def test_the_project_default_is_checked(project: Path) -> None:
    cirrus = project / "cirrus.yml"
    cirrus.write_text(cirrus.read_text() + "custom:\n  cirro:\n    executor: spark\n")
    (project / "p.json").write_bytes(orjson.dumps(make_payload("mixed")))
    out = _cirro(project, "run", str(project / "p.json"))
    assert out.returncode == 2
    assert "custom.cirro.executor is 'spark'" in out.stderr
