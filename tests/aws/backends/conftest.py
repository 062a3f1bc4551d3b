"""One moto server over HTTP on a loopback port for every AWS backend test in this folder."""

from __future__ import annotations

import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/aws: its moto_process helper
    from moto_process import moto_server

    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    # s3fs keeps one file system per argument set, whatever endpoint it was made for: one made
    # by an earlier test of this worker (another moto) must not answer for this one
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def aws(moto_url: str) -> Any:
    """`aws("sqs")` → a boto3 client on the moto server."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return lambda service: session.client(service, endpoint_url=moto_url)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def tables(aws: Any, unique: str) -> tuple[str, str]:
    """A fresh Cirrus state table and events table: (state, events)."""
    from cirrostratus.state.dynamodb_schema import create_tables

    state, events = f"test-{unique}-state", f"test-{unique}-events"
    create_tables(aws("dynamodb"), state, events)
    return state, events
