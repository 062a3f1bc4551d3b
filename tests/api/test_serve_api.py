"""`cirro serve --port` serves the API while it drains; `cirro api` refuses what it must."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from cirrostratus.cli import main

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
        banner = proc.stderr.readline()
        found = re.search(r"state API on (http://127\.0\.0\.1:\d+/)", banner)
        assert found, banner
        assert "write token" not in banner  # the token was given, so none is printed
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
        api.close()
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0


def test_api_beyond_loopback_without_a_token_is_refused(
    tmp_path: Path, monkeypatch: object
) -> None:
    root = new_project(tmp_path / "project")
    env = {"CIRRO_API_TOKEN": ""}
    result = CliRunner().invoke(
        main, ["--project", str(root), "api", "--host", "0.0.0.0", "--port", "0"], env=env
    )
    assert result.exit_code == 2
    assert "CIRRO_API_TOKEN" in result.output
