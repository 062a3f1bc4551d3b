"""`cirro serve --port` serves the API while it drains; `cirro api` refuses what it must."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import TOKEN, make_payload, new_project


def test_serve_port_answers_while_it_drains(tmp_path: Path) -> None:
    root = new_project(tmp_path / "project")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cirrostratus", "--project", str(root), "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "CIRRO_API_TOKEN": TOKEN},
    )
    assert proc.stderr is not None
    try:
        lines = []
        found = None
        while found is None:
            lines.append(proc.stderr.readline())
            assert lines[-1], "".join(lines)
            found = re.search(r"state API on (http://127\.0\.0\.1:\d+/)", lines[-1])
        assert "write token" not in proc.stderr.readline()  # it was given: none is printed
        api = httpx.Client(base_url=found.group(1), timeout=30)
        payloads = [make_payload("mirror", f"s{i}") for i in range(5)]
        refused = api.post("/payloads", json=payloads)
        assert refused.status_code == 401
        queued = api.post("/payloads", json=payloads, headers={"Authorization": f"Bearer {TOKEN}"})
        assert queued.status_code == 202
        deadline = time.monotonic() + 60
        counts: dict[str, object] = {}
        while time.monotonic() < deadline:
            counts = api.get("/test-collection/workflow-mirror").json()["counts"]
            if counts["COMPLETED"] == 5:
                break
            time.sleep(0.2)
        assert counts["COMPLETED"] == 5
        # the engine's own numbers reach the API's child process through .cirro/serve-status.json
        # (refreshed every second: it may still show the last executions for a moment, or,
        # when the five ran within a second, the engine as it was before their worker started)
        metrics: dict[str, str] = {}

        def settled() -> bool:
            return metrics.get("cirro_executions_running") == "0" and (
                int(metrics.get("cirro_lambda_workers", "0")) >= 1
            )

        while time.monotonic() < deadline and not settled():
            time.sleep(0.2)
            metrics = dict(
                line.rsplit(" ", 1)
                for line in api.get("/metrics").text.splitlines()
                if line and not line.startswith("#")
            )
        assert metrics["cirro_engine_serving"] == "1"
        assert metrics["cirro_executions_running"] == "0"
        assert int(metrics["cirro_lambda_workers"]) >= 1  # mirror's worker stays warm
        assert metrics["cirro_lambda_workers_busy"] == "0"
        assert (root / ".cirro" / "serve-status.json").exists()
        api.close()
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0
    assert not (root / ".cirro" / "serve-status.json").exists()  # gone with the engine


def test_api_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    root = new_project(tmp_path / "project")
    command = [sys.executable, "-m", "cirrostratus", "--project", str(root), "api"]
    result = subprocess.run(
        [*command, "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "CIRRO_API_TOKEN": ""},
        timeout=60,
    )
    assert result.returncode == 2
    assert "set CIRRO_API_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
