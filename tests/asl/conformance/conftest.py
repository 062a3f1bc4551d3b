"""Fixtures for the ASL conformance corpus: one moto mock per worker process.

The mock stays active for the whole session of each xdist worker. moto nests mocks (an inner
``mock_aws`` neither resets nor unpatches an active outer one), but a ``mock_aws`` object built
before this session started would carry moto's default config, with Step Functions execution
off: tests elsewhere should build their mocks inside the test, not at import time.
"""

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
