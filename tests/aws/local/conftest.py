"""A Cirrus 0.9 project whose tasks are the real Cirrus code, laid out as Cirrus builds it.

The cirrus-geo 0.9.0 and cirrus-lib 0.8.1 wheels are fetched from the package index once
into a cache folder (`$XDG_CACHE_HOME/cirrostratus/test-wheels`); their code is never
committed. Each lambda gets what `cirrus build` gives it: its own folder, a vendored
`cirrus/lib2` (and `cirrus/lib` for the cirrus-lib task) and a requirements.txt. The tests run
with `--no-task-envs`, so the requirements are installed once into this environment instead
(python-json-logger, boto3-utils, jsonpath-ng, python-dateutil) when missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

WHEELS = {"cirrus-geo": "0.9.0", "cirrus-lib": "0.8.1"}
#: module → what pip installs when it is missing (Cirrus 0.9's runtime requirements)
DEPENDENCIES = {
    "pythonjsonlogger": "python-json-logger~=2.0",
    "boto3utils": "boto3-utils>=0.3.3",
    "jsonpath_ng": "jsonpath-ng>=1.5.3",
    "dateutil": "python-dateutil>=2.8.2",
    "requests": "requests>=2.24",
}
REQUIREMENTS = (
    "boto3-utils~=0.3.3\npython-json-logger~=2.0\njsonpath-ng>=1.5.3\npython-dateutil~=2.8.2\n"
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cirrostratus" / "test-wheels"


def _wheel(folder: Path, name: str, version: str) -> Path | None:
    found = sorted(folder.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    return found[0] if found else None


@pytest.fixture(scope="session")
def cirrus_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two wheels unpacked into one folder (`cirrus/lib`, `cirrus/lib2`, `cirrus/builtins`)."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    missing = [f"{n}=={v}" for n, v in WHEELS.items() if _wheel(folder, n, v) is None]
    if missing:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(folder),
                *missing,
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
        if done.returncode != 0:
            pytest.skip(
                f"the package index is unreachable, cannot fetch {missing}: {done.stderr[-300:]}"
            )
    _install_dependencies()
    unpacked = tmp_path_factory.mktemp("cirrus-wheels")
    for name, version in WHEELS.items():
        wheel = _wheel(folder, name, version)
        assert wheel is not None
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)
    return unpacked


def _install_dependencies() -> None:
    """Install the lambdas' requirements here when missing (--no-task-envs runs them here)."""
    wanted = [
        spec for module, spec in DEPENDENCIES.items() if importlib.util.find_spec(module) is None
    ]
    if not wanted:
        return
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", *wanted],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot install the Cirrus tasks' requirements {wanted}: {done.stderr[-300:]}")


CIRRUS_YML = """\
service: cirrus
provider:
  name: aws
  stage: dev
  region: us-west-2
  runtime: python3.9
  environment:
    CIRRUS_LOG_LEVEL: INFO
    CIRRUS_DATA_BUCKET: !Ref Data
    CIRRUS_PAYLOAD_BUCKET: !Ref Payloads
    CIRRUS_STATE_DB: !Ref StateTable
    CIRRUS_STACK: "#{AWS::StackName}"
    CIRRUS_PROCESS_QUEUE_URL: !Ref ProcessQueue
    CIRRUS_PUBLISH_TOPIC_ARN: !Ref PublishTopic
    CIRRUS_FAILED_TOPIC_ARN: !Ref FailedTopic
    CIRRUS_INVALID_TOPIC_ARN: !Ref FailedTopic
custom:
  batch:
    BasicComputeEnvironments:
      MaxvCpus: 4
    LambdaAsBatchJob:
      Memory: 512
      Vcpus: 1
    GeoLambdaAsBatchJob:
      Memory: 512
      Vcpus: 1
"""

S3_YML = """\
Resources:
  Data:
    Type: AWS::S3::Bucket
  Payloads:
    Type: AWS::S3::Bucket
"""

# a task written with cirrus-lib 0.8.1: payloads over 30,000 bytes leave it as {"url": s3://…}
LIB_TASK = """\
import os

from cirrus.lib.process_payload import ProcessPayload


def lambda_handler(event, context=None):
    payload = ProcessPayload.from_event(event)
    for item in payload["features"]:
        item["properties"]["cirrus_lib_task"] = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    return payload.get_payload()
"""

# run by LambdaAsBatchJob: Cirrus's batch runner writes its return value to <url>_out.json
STAMP_TASK = """\
import os

from cirrus.lib2.process_payload import ProcessPayload


class InvalidInput(Exception):
    pass


def lambda_handler(event, context=None):
    payload = ProcessPayload.from_event(event)
    if payload.process["tasks"].get("stamp", {}).get("fail"):
        raise InvalidInput("the stamp task refuses this scene")
    for item in payload["features"]:
        item["properties"]["batch_job"] = os.environ.get("AWS_BATCH_JOB_ID")
    return dict(payload)
"""

WORKFLOW = """\
name: cirrus-dev-cirrus-real
definition:
  Comment: a cirrus-lib task, then the real Cirrus 0.9 pre-batch / Batch / post-batch / publish
  StartAt: lib-task
  States:
    lib-task:
      Type: Task
      Resource: !GetAtt lib-task.Arn
      Next: pre-batch
    pre-batch:
      Type: Task
      Resource: !GetAtt pre-batch.Arn
      Next: batch-job
    batch-job:
      Type: Task
      Resource: arn:aws:states:::batch:submitJob.sync
      Parameters:
        JobName: stamp
        JobQueue: "#{BasicOnDemandJobQueue}"
        JobDefinition: "#{LambdaAsBatchJob}"
        Parameters:
          lambda_function: "#{AWS::StackName}-stamp"
          url.$: $.url
      Next: post-batch
      Catch:
        - ErrorEquals: ["States.ALL"]
          ResultPath: $.error
          Next: post-batch
    post-batch:
      Type: Task
      Resource: !GetAtt post-batch.Arn
      Next: publish
    publish:
      Type: Task
      Resource: !GetAtt publish.Arn
      End: true
"""


def _lambda(root: Path, code: Path, name: str, *, libs: tuple[str, ...] = ("lib2",)) -> Path:
    """A lambda folder as `cirrus build` packages it: code, vendored cirrus libs, requirements."""
    folder = root / "tasks" / name
    folder.mkdir(parents=True, exist_ok=True)
    for lib in libs:
        shutil.copytree(
            code / "cirrus" / lib,
            folder / "cirrus" / lib,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    (folder / "requirements.txt").write_text(REQUIREMENTS)
    return folder


def make_project(root: Path, code: Path, *, aws_default: bool = False) -> Path:
    """The test project at `root` (see the module docstring)."""
    root.mkdir(parents=True)
    config = CIRRUS_YML + ("  cirro:\n    aws: local\n" if aws_default else "")
    (root / "cirrus.yml").write_text(config)
    (root / "cloudformation").mkdir()
    (root / "cloudformation" / "s3.yml").write_text(S3_YML)
    for name in ("publish", "pre-batch", "post-batch"):
        folder = _lambda(root, code, name)
        builtin = code / "cirrus" / "builtins" / "tasks" / name
        for file in ("definition.yml", "lambda_function.py"):
            shutil.copy(builtin / file, folder / file)
    definition = (
        "description: {}\nlambda:\n  handler: lambda_function.lambda_handler\n  timeout: 60\n"
    )
    lib_task = _lambda(root, code, "lib-task", libs=("lib",))
    (lib_task / "definition.yml").write_text(definition.format("a cirrus-lib 0.8.1 task"))
    (lib_task / "lambda_function.py").write_text(LIB_TASK)
    stamp = _lambda(root, code, "stamp")
    (stamp / "definition.yml").write_text(definition.format("run as a Batch job"))
    (stamp / "lambda_function.py").write_text(STAMP_TASK)
    workflow = root / "workflows" / "cirrus-real"
    workflow.mkdir(parents=True)
    (workflow / "definition.yml").write_text(WORKFLOW)
    return root


def big_payload(item_id: str, size: int = 40_000, *, fail: bool = False) -> dict[str, Any]:
    """A payload of about `size` bytes (one item with a long property); `fail`: the Batch
    job raises InvalidInput."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "collection": "sentinel-2",
                "bbox": [10.0, 40.0, 11.0, 41.0],
                "geometry": None,
                "properties": {"datetime": "2024-07-04T10:00:00Z", "notes": "x" * size},
                "assets": {},
                "links": [],
            }
        ],
        "process": {
            "workflow": "cirrus-real",
            "upload_options": {"path_template": "${collection}/${year}/${id}"},
            "tasks": {"publish": {"public": False}, "stamp": {"fail": fail}},
        },
    }


@pytest.fixture(scope="module")
def cirrus_project(cirrus_code: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("local-aws") / "project", cirrus_code)
