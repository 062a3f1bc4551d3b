"""Real Cirrus workflow shapes: Choice on task config, the Batch Parallel block, Catch → Fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cirrostratus.asl import TaskContext, TaskFailed, VirtualClock

PAYLOAD = json.loads((Path(__file__).parent / "data" / "payload.json").read_text())


class Lambdas:
    """Answers Tasks by GetAtt component name (or the Resource string), like a Cirrus runtime."""

    def __init__(self, handlers: dict[str, Any]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, Any]] = []

    async def __call__(self, resource: Any, params: Any, ctx: TaskContext) -> Any:
        key = resource["Fn::GetAtt"][0] if isinstance(resource, dict) else resource
        self.calls.append((key, params))
        handler = self.handlers[key]
        return handler(params) if callable(handler) else handler


def with_batch(batch: Any) -> dict[str, Any]:
    payload = json.loads(json.dumps(PAYLOAD))
    if batch is None:
        del payload["process"]["tasks"]["copy-assets"]["batch"]
    else:
        payload["process"]["tasks"]["copy-assets"]["batch"] = batch
    return payload


def copied(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "features": [{**payload["features"][0], "copied": True}]}


def published(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "published": True}


def test_mirror_lambda_path(run_asl: Any, load_workflow: Any) -> None:
    for batch in (False, None):
        lambdas = Lambdas({"copy-assets": copied, "publish": published})
        result = run_asl(load_workflow("mirror.yml"), with_batch(batch), lambdas)
        assert result.status == "SUCCEEDED"
        assert [name for name, _ in lambdas.calls] == ["copy-assets", "publish"]
        assert result.output["features"][0]["copied"] and result.output["published"]


def test_mirror_batch_path(run_asl: Any, load_workflow: Any) -> None:
    url = "s3://payloads/batch/mirror/abc/input.json"

    def submit(params: dict[str, Any]) -> dict[str, Any]:
        assert params["Parameters"] == {
            "lambda_function": "#{AWS::StackName}-copy-assets",
            "url": url,
        }
        return {"JobId": "job-1", "Status": "SUCCEEDED", "Parameters": params["Parameters"]}

    lambdas = Lambdas(
        {
            "pre-batch": lambda payload: {"url": url},
            "arn:aws:states:::batch:submitJob.sync": submit,
            "post-batch": lambda out: copied(PAYLOAD) if out["Status"] == "SUCCEEDED" else out,
            "publish": published,
        }
    )
    result = run_asl(load_workflow("mirror.yml"), with_batch(True), lambdas)
    assert result.status == "SUCCEEDED", result.cause
    assert [name for name, _ in lambdas.calls] == [
        "pre-batch",
        "arn:aws:states:::batch:submitJob.sync",
        "post-batch",
        "publish",
    ]
    # OutputPath $[0] hands the single branch's output, not a one-element list, to publish
    assert lambdas.calls[-1][1]["features"][0]["copied"] is True


def test_mirror_batch_failure_goes_through_post_batch_retry_and_failure(
    run_asl: Any, load_workflow: Any
) -> None:
    seen_errors: list[Any] = []

    def submit(params: dict[str, Any]) -> Any:
        raise TaskFailed(
            "States.TaskFailed",
            json.dumps({"Status": "FAILED", "StatusReason": "Essential container exited"}),
        )

    def post_batch(event: dict[str, Any]) -> Any:
        seen_errors.append(event.get("error"))
        raise TaskFailed(
            "InvalidInput", json.dumps({"errorMessage": "no items", "errorType": "InvalidInput"})
        )

    lambdas = Lambdas(
        {
            "pre-batch": {"url": "s3://x"},
            "arn:aws:states:::batch:submitJob.sync": submit,
            "post-batch": post_batch,
        }
    )
    clock = VirtualClock()
    result = run_asl(load_workflow("mirror.yml"), with_batch(True), lambdas, clock)
    assert result.status == "FAILED" and result.failed_state == "failure"
    assert len(seen_errors) == 3  # the Parallel block retries States.ALL twice
    assert seen_errors[0]["Error"] == "States.TaskFailed"
    assert clock.slept == [1.0, 2.0]
    failure_input = next(e for e in result.history if e.type == "FailStateEntered").details["input"]
    assert failure_input["error"]["Error"] == "InvalidInput"
    assert json.loads(failure_input["error"]["Cause"])["errorMessage"] == "no items"
    assert failure_input["process"]["workflow"] == "mirror"  # the payload survives beside the error


def test_publish_only_retries_throttling(run_asl: Any, load_workflow: Any) -> None:
    attempts: list[int] = []

    def publish(payload: dict[str, Any]) -> Any:
        attempts.append(1)
        if len(attempts) < 3:
            raise TaskFailed("Lambda.TooManyRequestsException", "Rate exceeded")
        return published(payload)

    clock = VirtualClock()
    result = run_asl(
        load_workflow("publish-only.yml"), PAYLOAD, Lambdas({"publish": publish}), clock
    )
    assert result.status == "SUCCEEDED" and result.output["published"]
    assert clock.slept == [1.0, 2.0]


def test_choice_without_default_fails_on_missing_key(run_asl: Any, load_workflow: Any) -> None:
    definition = load_workflow("mirror.yml")
    definition["States"]["copy-assets-batch-or-lambda"]["Choices"] = definition["States"][
        "copy-assets-batch-or-lambda"
    ]["Choices"][1:]
    definition["States"]["copy-assets-batch-or-lambda"]["Default"] = "copy-assets"
    result = run_asl(
        definition, with_batch(None), Lambdas({"copy-assets": copied, "publish": published})
    )
    # like cog-archive on AWS: a BooleanEquals on a missing key is a runtime error, not a miss
    assert result.status == "FAILED" and result.error == "States.Runtime"
