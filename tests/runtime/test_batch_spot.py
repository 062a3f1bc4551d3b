"""Spot interruptions, locally: attempts on a SPOT queue fail as AWS reports a reclaimed host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from cirrostratus.project import Project
from cirrostratus.project.local_batch import SpotInterruption
from cirrostratus.runtime import TaskFailed
from cirrostratus.runtime.batch import BatchRunner
from cirrostratus.runtime.logs import batch_log_path
from cirrostratus.storage import open_store
from cirrostratus.storage.locations import Locations

from .conftest import FIXTURES

PROJECT = FIXTURES / "project"
HOST_TERMINATED = re.compile(r"^Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.$")


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(PROJECT)


@pytest.fixture
def locations(tmp_path: Path) -> Locations:
    return Locations.for_project(tmp_path / "deploy", env={}).ensure()


def _runner(project: Project, locations: Locations, spot: SpotInterruption) -> BatchRunner:
    return BatchRunner.for_project(project, locations, engine_probe=lambda: None, spot=spot)


def _job(locations: Locations, queue: str, job: str = "LambdaAsBatchJob") -> dict[str, Any]:
    payload = orjson.loads((PROJECT / "payload.json").read_bytes())
    url = open_store(locations.payload_url).put_bytes("batch/spot/in.json", orjson.dumps(payload))
    return {
        "JobDefinition": f"#{{{job}}}",
        "JobQueue": f"#{{{queue}}}",
        "JobName": "spot",
        "Parameters": {"lambda_function": "testsvc-dev-envdump", "url": url},
    }


def test_spot_queue_interrupts_up_to_the_limit(
    run: Any, project: Project, locations: Locations
) -> None:
    runner = _runner(project, locations, SpotInterruption(rate=1.0, limit=1))
    with pytest.raises(TaskFailed) as info:
        run(runner.submit_job(_job(locations, "BasicSpotJobQueue")))
    cause = orjson.loads(info.value.cause or "{}")
    assert cause["Status"] == "FAILED"
    assert HOST_TERMINATED.match(cause["StatusReason"]), cause["StatusReason"]
    (attempt,) = cause["Attempts"]
    assert attempt["StatusReason"] == cause["StatusReason"]
    assert "ExitCode" not in attempt["Container"]  # the host went away: no container exit
    log = batch_log_path(locations.logs_dir, attempt["Container"]["LogStreamName"])
    assert log.read_text().splitlines()[-1] == cause["StatusReason"]  # what post-batch reads
    # the limit is spent: the next job on the same queue runs
    assert run(runner.submit_job(_job(locations, "BasicSpotJobQueue")))["Status"] == "SUCCEEDED"
    assert runner.spot_interruptions == 1


def test_on_demand_queue_is_never_interrupted(
    run: Any, project: Project, locations: Locations
) -> None:
    runner = _runner(project, locations, SpotInterruption(rate=1.0))
    result = run(runner.submit_job(_job(locations, "BasicOnDemandJobQueue")))
    assert result["Status"] == "SUCCEEDED" and runner.spot_interruptions == 0


def test_batch_retry_strategy_retries_an_interrupted_attempt(
    run: Any, project: Project, locations: Locations
) -> None:
    runner = _runner(project, locations, SpotInterruption(rate=1.0, limit=1))
    result = run(runner.submit_job(_job(locations, "BasicSpotJobQueue", job="EnvdumpRetryJob")))
    assert result["Status"] == "SUCCEEDED"
    first, second = result["Attempts"]
    assert HOST_TERMINATED.match(first["StatusReason"])
    assert second["Container"]["ExitCode"] == 0


def test_seeded_rate_repeats_and_interrupts_a_share(project: Project, locations: Locations) -> None:
    def draws(seed: int) -> list[bool]:
        runner = _runner(project, locations, SpotInterruption(rate=0.5, seed=seed))
        return [runner._interrupt() for _ in range(200)]

    first = draws(7)
    assert first == draws(7)  # same seed, same interruptions
    assert 60 < sum(first) < 140  # about half


def test_rate_comes_from_cirrus_yml(project: Project, locations: Locations) -> None:
    config = {
        **project.config,
        "custom": {"cirro": {"batch": {"local": {"spot_interruption_rate": 0.25}}}},
    }
    project_with = Project.load(PROJECT)
    project_with.config = config
    runner = BatchRunner.for_project(project_with, locations, engine_probe=lambda: None)
    assert runner.spot == SpotInterruption(rate=0.25)
    assert runner.queues["BasicSpotJobQueue"].spot
    assert not runner.queues["BasicOnDemandJobQueue"].spot
