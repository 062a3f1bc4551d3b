"""Resource resolution: workflows run unchanged through the real ASL interpreter."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from cirrostratus.asl import compile_definition
from cirrostratus.project import Project
from cirrostratus.runtime import BatchRunner, LambdaPool, TaskFailed, make_invoker, project_specs
from cirrostratus.storage.locations import Locations

from .conftest import FIXTURES

PROJECT = FIXTURES / "project"
CTX = SimpleNamespace(execution_id="exec-resolve")


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(PROJECT)


@pytest.fixture(scope="module")
def invoker(run: Any, project: Project, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    locations = Locations.for_project(tmp_path_factory.mktemp("deploy"), env={}).ensure()
    pool = LambdaPool(project_specs(project, locations), logs_dir=locations.logs_dir)
    batch = BatchRunner.for_project(project, locations, engine_probe=lambda: None, gpus=0)
    yield make_invoker(project, pool, batch)
    run(pool.close())


def _payload(**envdump: Any) -> dict[str, Any]:
    payload = orjson.loads((PROJECT / "payload.json").read_bytes())
    payload["process"][0]["tasks"]["envdump"] = envdump
    return payload


@pytest.mark.parametrize(
    "resource",
    [
        {"Fn::GetAtt": ["envdump", "Arn"]},
        "!GetAtt envdump.Arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:testsvc-dev-envdump",
        "${self:service}-${self:provider.stage}-envdump",
        "testsvc-dev-envdump",
    ],
)
def test_function_forms(run: Any, invoker: Any, resource: Any) -> None:
    out = run(invoker(resource, {"hello": 1}, CTX))
    assert out["hello"] == 1 and out["seen"]["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "envdump"


def test_lambda_invoke_integration(run: Any, invoker: Any) -> None:
    params = {"FunctionName": {"Fn::GetAtt": ["envdump", "Arn"]}, "Payload": {"x": 2}}
    out = run(invoker("arn:aws:states:::lambda:invoke", params, CTX))
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST"
    assert out["Payload"]["x"] == 2
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200


def test_unsupported_resource(run: Any, invoker: Any) -> None:
    with pytest.raises(TaskFailed) as info:
        run(invoker("arn:aws:states:::sqs:sendMessage", {}, CTX))
    assert info.value.error == "States.Runtime"
    assert "unsupported Resource" in (info.value.cause or "")


def test_workflow_with_batch_and_stactask(run: Any, invoker: Any, project: Project) -> None:
    machine = compile_definition(project.workflows["batchy"].definition, "batchy")
    result = run(machine.execute(_payload(), invoker=invoker))
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    item = result.output["features"][0]
    assert item["properties"]["stacky:label"] == "hello"  # stactask Task ran after the batch job
    assert result.output["seen"]["env"]["JOB_VAR"] == "from-job"


def test_workflow_error_type_through_post_batch(run: Any, invoker: Any, project: Project) -> None:
    machine = compile_definition(project.workflows["batchy"].definition, "batchy")
    result = run(machine.execute(_payload(**{"raise": "InvalidInput"}), invoker=invoker))
    assert result.status == "FAILED"
    assert result.error == "InvalidInput"
    assert orjson.loads(result.cause or "{}")["errorMessage"] == "no usable assets in the item"


@pytest.mark.parametrize(
    ("resource", "params"),
    [
        ("!GetAtt envdump.Arn", _payload(return_none=True)),
        (
            "arn:aws:states:::lambda:invoke",
            {"FunctionName": "testsvc-dev-envdump", "Payload": _payload(return_none=True)},
        ),
    ],
)
def test_a_task_returning_none_fails_naming_it(
    run: Any, invoker: Any, resource: str, params: Any
) -> None:
    ctx = SimpleNamespace(execution_id="exec-none", state_name="dump-it")
    with pytest.raises(TaskFailed) as info:
        run(invoker(resource, params, ctx))
    assert info.value.error == "TaskReturnedNone"
    message = orjson.loads(info.value.cause or "{}")["errorMessage"]
    assert message.startswith("task 'envdump' (state 'dump-it') returned None")
