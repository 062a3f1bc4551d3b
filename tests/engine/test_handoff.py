"""Handing payloads to the engine that serves the project, and following their records."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cirrostratus.engine.handoff import hand_over
from cirrostratus.engine.local import LocalEngine

from .conftest import make_payload


def test_hand_over_reports_invalid_duplicate_skipped_and_finished(project: Path) -> None:
    engine = LocalEngine.open(project)
    asyncio.run(engine.run([make_payload("mirror", "done")]))  # COMPLETED before the hand-over

    def serving_engine_runs(_: float) -> None:
        # stands in for `cirro serve`: drains what the hand-over queued
        asyncio.run(engine.drain_queued())

    broken = make_payload("mirror", "broken")
    del broken["process"]["workflow"]
    report = hand_over(
        engine,
        [
            make_payload("mirror", "new"),
            make_payload("mirror", "new"),  # the same payload twice: followed once
            make_payload("mirror", "done"),  # already COMPLETED: not sent again
            broken,
        ],
        sleep=serving_engine_runs,
    )
    records = report.records
    assert records["test-collection/workflow-mirror/new"].state == "COMPLETED"
    assert records["test-collection/workflow-mirror/done"].skipped
    invalid = [r for r in records.values() if r.state == "INVALID"]
    assert len(invalid) == 1 and "process.workflow is required" in (invalid[0].error or "")
    assert len(records) == 3 and report.exit_code == 1
