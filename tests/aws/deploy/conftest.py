"""One moto server over HTTP on a loopback port for every deploy test, and one deployed
stack (a `cirro init` project) that the deployments tests share."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cirrostratus.cli import cli

REGION = "us-west-2"


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


@pytest.fixture(scope="session")
def aws_env(moto_url: str) -> Iterator[dict[str, str]]:
    """The environment every command in these tests runs with (set for the session: the
    shared stack fixture deploys before any function-scoped fixture runs)."""
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    yield env
    mp.undo()


@pytest.fixture
def aws(aws_env: dict[str, str]) -> Any:
    """`aws("sqs")` → a boto3 client on the moto server."""
    import boto3

    session = boto3.session.Session(region_name=REGION)
    return lambda service: session.client(service)


def cirro(*args: str, code: int | None = 0, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=input)
    if code is not None:
        assert result.exit_code == code, (args, result.output, result.exception)
    return result


def make_project(root: Path, service: str) -> Path:
    cirro("init", str(root))
    config = root / "cirrus.yml"
    text = config.read_text()
    config.write_text(text.replace("service: ", f"service: {service}  # was: ", 1))
    return root


@pytest.fixture(scope="session")
def deployed(aws_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project deployed once as stack `shared-dev`: {"project", "stack", "output"}."""
    root = make_project(tmp_path_factory.mktemp("shared") / "proj", "shared")
    result = cirro(
        "--project", str(root), "deploy", "--skip-unsupported", "--no-vendor", "--poll", "0.05"
    )
    return {"project": root, "stack": "shared-dev", "output": result.output}


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Deployments are kept here for one test."""
    monkeypatch.setenv("CIRRO_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"
