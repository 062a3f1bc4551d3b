"""The backends a handler uses, made from Cirrus's environment variables (see __init__).

Made once per warm Lambda container and environment: building boto3 clients costs tens of
milliseconds, and Lambda reuses a container for many invocations. Keyed by the variables
read, so tests that change the environment get fresh backends.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any


class ConfigError(Exception):
    """A variable the handler needs is missing or wrong; the message names it."""


def need(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(f"{name} is not set; the stack's template sets it on this function")
    return value


def bucket_url(value: str) -> str:
    """A bucket name (as Cirrus's template sets it) or any URL, as a store URL."""
    return value if "://" in value or value.startswith("/") else f"s3://{value}"


#: How long a claim waits for its execution to start. Shorter than the process queue's
#: visibility timeout (Cirrus: 60 s) and longer than the process Lambda's timeout (10 s): a
#: message redelivered after a Lambda died between claim and start finds the claim expired
#: and runs, instead of being skipped as busy.
CLAIM_LEASE_SECONDS = 30.0


@functools.lru_cache(maxsize=8)
def _state(table: str, events: str | None) -> Any:
    from cirrostratus.state.dynamodb import DynamoStateStore

    return DynamoStateStore(table, events_table=events, lease_seconds=CLAIM_LEASE_SECONDS)


def state_store() -> Any:
    return _state(need("CIRRUS_STATE_DB"), os.environ.get("CIRRO_EVENTS_TABLE") or None)


@functools.lru_cache(maxsize=8)
def _store(url: str) -> Any:
    from cirrostratus.storage import open_store

    return open_store(url)


def payload_store() -> Any:
    return _store(bucket_url(need("CIRRUS_PAYLOAD_BUCKET")))


def data_root() -> str:
    return bucket_url(need("CIRRUS_DATA_BUCKET"))


@functools.lru_cache(maxsize=8)
def _queue(url: str) -> Any:
    from cirrostratus.intake.sqs import SqsIntakeQueue

    return SqsIntakeQueue(url)


def process_queue(required: bool = True) -> Any:
    url = os.environ.get("CIRRUS_PROCESS_QUEUE_URL", "")
    if not url and not required:
        return None
    return _queue(need("CIRRUS_PROCESS_QUEUE_URL"))


@functools.lru_cache(maxsize=8)
def _runner(base: str, bucket: str) -> Any:
    from cirrostratus.engine.stepfunctions import StepFunctionsRunner

    return StepFunctionsRunner(base, payload_store=_store(bucket))


def runner() -> Any:
    return _runner(need("CIRRUS_BASE_WORKFLOW_ARN"), bucket_url(need("CIRRUS_PAYLOAD_BUCKET")))


@functools.lru_cache(maxsize=4)
def client(service: str) -> Any:
    """A boto3 client (AWS_ENDPOINT_URL honoured by boto3)."""
    from cirrostratus.state.dynamodb_client import make_client

    return make_client(service)


def notifier(*topics: str) -> Any:
    """An SnsNotifier for the given topics (`failed`, `invalid`, `published`)."""
    from cirrostratus.engine.sns import SnsNotifier

    return SnsNotifier.from_env(os.environ, only=topics)


def builtin(kind: str, name: str) -> ModuleType:
    """The `lambda_function` module of a builtin component (its folder has a hyphen)."""
    import cirrostratus.builtins as builtins

    path = Path(builtins.__file__).parent / kind / name / "lambda_function.py"
    return _load(str(path), f"cirrostratus_builtin_{kind}_{name.replace('-', '_')}")


@functools.lru_cache(maxsize=16)
def _load(path: str, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"builtin {path} is missing from this package")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
