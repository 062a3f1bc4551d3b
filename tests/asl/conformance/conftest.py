"""Fixtures for the ASL conformance corpus: one moto mock per worker process."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from moto_runner import MotoRunner
from task_worker import MotoWorker


@pytest.fixture(scope="session")
def moto_runner() -> Iterator[MotoRunner]:
    """Start mock_aws (and the Task worker) once per xdist worker: it costs far more than a case."""
    # moto logs every failed execution with a full state dump at ERROR level.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    runner = MotoRunner()
    worker = MotoWorker()  # answers the Task states of the corpus (see task_worker.py)
    try:
        yield runner
    finally:
        worker.close()
        runner.close()
