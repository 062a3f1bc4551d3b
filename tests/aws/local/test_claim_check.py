"""A workflow that ends with a claim check (cirrus-lib's `get_payload()` over 30,000 bytes) is
settled with the payload it points at, as Cirrus's update-state reads it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cirrostratus.asl import ExecutionResult
from cirrostratus.engine.executor import finished_from


def succeeded(output: Any) -> ExecutionResult:
    now = datetime.now(UTC)
    return ExecutionResult("SUCCEEDED", output, None, None, [], now, now)


def test_a_url_output_is_replaced_by_the_payload_it_points_at(tmp_path: Path) -> None:
    payload = {"type": "FeatureCollection", "features": [{"id": "a"}], "process": {}}
    stored = tmp_path / "payloads" / "x.json"
    stored.parent.mkdir()
    stored.write_text(json.dumps(payload))
    finished = finished_from("p", "e", succeeded({"url": f"file://{stored}"}))
    assert finished.status == "SUCCEEDED"
    assert finished.output == payload


def test_a_payload_that_has_a_url_field_is_left_alone() -> None:
    payload = {"type": "FeatureCollection", "features": [], "url": "s3://x/y", "process": {}}
    assert finished_from("p", "e", succeeded(payload)).output == payload


def test_a_claim_check_that_cannot_be_read_fails_the_payload(tmp_path: Path) -> None:
    finished = finished_from("p", "e", succeeded({"url": f"file://{tmp_path}/missing.json"}))
    assert finished.status == "FAILED"
    assert finished.error == "States.Runtime"
    assert "claim check that cannot be read" in str(finished.cause)
    assert "missing.json" in str(finished.cause)
