"""Task states: the invoker contract, Retry timing on the virtual clock, Catch, timeouts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cirrostratus.asl import TaskContext, TaskFailed, VirtualClock

GETATT = {"Fn::GetAtt": ["publish", "Arn"]}


def task(extra: dict[str, Any] | None = None, *, catch_to_fail: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"Type": "Task", "Resource": GETATT, "End": True, **(extra or {})}
    states: dict[str, Any] = {"T": spec}
    if catch_to_fail:
        spec.setdefault(
            "Catch", [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "failure"}]
        )
        states["failure"] = {"Type": "Fail"}
    return {"StartAt": "T", "States": states}


class Failing:
    """Fails `times` times with `error`, then returns `result`; records the clock at each call."""

    def __init__(
        self, clock: VirtualClock, times: int, error: BaseException, result: Any = "ok"
    ) -> None:
        self.clock, self.times, self.error, self.result = clock, times, error, result
        self.contexts: list[TaskContext] = []

    async def __call__(self, resource: Any, params: Any, ctx: TaskContext) -> Any:
        self.contexts.append(ctx)
        if len(self.contexts) <= self.times:
            raise self.error
        return self.result


def test_invoker_gets_resource_as_written_parameters_and_context(
    run_asl: Any, recorder: Any
) -> None:
    rec = recorder({"T": {"answer": 42}})
    params = {"url.$": "$.url", "token.$": "$$.Task.Token", "fixed": 1}
    result = run_asl(
        task({"Parameters": params, "ResultPath": "$.result"}), {"url": "s3://x"}, rec, name="e1"
    )
    resource, sent, ctx = rec.calls[0]
    assert resource == GETATT
    assert sent["url"] == "s3://x" and sent["fixed"] == 1 and sent["token"] == ctx.task_token
    assert ctx.state_name == "T" and ctx.execution_name == "e1" and ctx.retry_count == 0
    assert ctx.execution_id.endswith(":e1")
    assert result.output == {"url": "s3://x", "result": {"answer": 42}}


def test_string_resources_pass_through(run_asl: Any, recorder: Any) -> None:
    rec = recorder()
    run_asl(task({"Resource": "arn:aws:states:::batch:submitJob.sync"}), {}, rec)
    assert rec.calls[0][0] == "arn:aws:states:::batch:submitJob.sync"


def test_result_selector(run_asl: Any, recorder: Any) -> None:
    rec = recorder({"T": {"Payload": {"x": 1}, "StatusCode": 200}})
    result = run_asl(
        task(
            {
                "ResultSelector": {"x.$": "$.Payload.x", "code.$": "$.StatusCode"},
                "ResultPath": "$.r",
            }
        ),
        {},
        rec,
    )
    assert result.output == {"r": {"x": 1, "code": 200}}


def test_task_failed_and_other_exceptions(run_asl: Any, recorder: Any) -> None:
    failed = run_asl(task(), {}, recorder({"T": TaskFailed("Lambda.Unknown", "boom")}))
    assert (failed.status, failed.error, failed.cause, failed.failed_state) == (
        "FAILED",
        "Lambda.Unknown",
        "boom",
        "T",
    )
    other = run_asl(task(), {}, recorder({"T": KeyError("missing")}))
    assert (other.error, other.cause) == ("KeyError", "'missing'")
    types = [e.type for e in other.history]
    assert types[-3:] == ["TaskStarted", "TaskFailed", "ExecutionFailed"]


def test_no_invoker_is_a_runtime_error() -> None:
    from cirrostratus.asl import compile_definition

    result = asyncio.run(compile_definition(task()).execute({}))
    assert result.error == "States.Runtime"


@pytest.mark.parametrize(
    ("retrier", "failures", "sleeps"),
    [
        ({}, 3, [1.0, 2.0, 4.0]),  # defaults: 1 s, x2, 3 attempts
        ({"IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}, 3, [2.0, 6.0, 18.0]),
        (
            {"IntervalSeconds": 10, "BackoffRate": 2, "MaxAttempts": 5, "MaxDelaySeconds": 25},
            4,
            [10.0, 20.0, 25.0, 25.0],
        ),
        ({"IntervalSeconds": 1, "MaxAttempts": 5}, 1, [1.0]),
    ],
)
def test_retry_intervals(
    run_asl: Any, retrier: dict[str, Any], failures: int, sleeps: list[float]
) -> None:
    clock = VirtualClock()
    inv = Failing(clock, failures, TaskFailed("Lambda.Unknown", "x"))
    result = run_asl(
        task({"Retry": [{"ErrorEquals": ["Lambda.Unknown"], **retrier}]}), {}, inv, clock
    )
    assert result.status == "SUCCEEDED"
    assert clock.slept == sleeps
    assert [c.retry_count for c in inv.contexts] == list(range(failures + 1))
    assert (result.stop - result.start).total_seconds() == sum(sleeps)
    assert [e.details["retry"] for e in result.history if e.type == "RetryScheduled"] == list(
        range(1, failures + 1)
    )


def test_retries_exhausted_then_fail(run_asl: Any) -> None:
    clock = VirtualClock()
    inv = Failing(clock, 10, TaskFailed("E", "x"))
    result = run_asl(task({"Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 2}]}), {}, inv, clock)
    assert result.error == "E" and len(inv.contexts) == 3


def test_max_attempts_zero_never_retries(run_asl: Any) -> None:
    clock = VirtualClock()
    inv = Failing(clock, 1, TaskFailed("E"))
    result = run_asl(task({"Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 0}]}), {}, inv, clock)
    assert result.status == "FAILED" and len(inv.contexts) == 1


def test_full_jitter_stays_below_the_interval(run_asl: Any) -> None:
    clock = VirtualClock()
    inv = Failing(clock, 3, TaskFailed("E"))
    retry = [{"ErrorEquals": ["E"], "IntervalSeconds": 4, "JitterStrategy": "FULL"}]
    assert run_asl(task({"Retry": retry}), {}, inv, clock).status == "SUCCEEDED"
    assert all(0 <= s <= cap for s, cap in zip(clock.slept, [4, 8, 16], strict=True))


def test_first_matching_retrier_decides(run_asl: Any) -> None:
    clock = VirtualClock()
    inv = Failing(clock, 5, TaskFailed("E"))
    retry = [
        {"ErrorEquals": ["E"], "MaxAttempts": 1},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
    ]
    result = run_asl(task({"Retry": retry}), {}, inv, clock)
    assert result.status == "FAILED" and len(inv.contexts) == 2


@pytest.mark.parametrize(
    ("pattern", "error", "caught"),
    [
        ("States.ALL", "Anything", True),
        ("States.ALL", "States.Timeout", True),
        ("States.TaskFailed", "Lambda.Unknown", True),
        ("States.TaskFailed", "States.Timeout", False),
        ("Specific", "Specific", True),
        ("Specific", "Other", False),
        ("States.ALL", "States.Runtime", False),
        ("States.Runtime", "States.Runtime", False),
        ("States.ALL", "States.DataLimitExceeded", False),
    ],
)
def test_catch_matching(
    run_asl: Any, recorder: Any, pattern: str, error: str, caught: bool
) -> None:
    definition = task(
        {"Catch": [{"ErrorEquals": [pattern], "ResultPath": "$.error", "Next": "failure"}]}
    )
    definition["States"]["failure"] = {"Type": "Pass", "End": True}
    result = run_asl(definition, {"keep": 1}, recorder({"T": TaskFailed(error, "why")}))
    if caught:
        assert result.status == "SUCCEEDED"
        assert result.output == {"keep": 1, "error": {"Error": error, "Cause": "why"}}
    else:
        assert result.status == "FAILED" and result.error == error


def test_catch_result_path_default_replaces_and_null_keeps_input(
    run_asl: Any, recorder: Any
) -> None:
    for result_path, expected in (("$", {"Error": "E", "Cause": "c"}), (None, {"in": 1})):
        catcher: dict[str, Any] = {"ErrorEquals": ["States.ALL"], "Next": "after"}
        if result_path != "$":
            catcher["ResultPath"] = result_path
        definition = task({"Catch": [catcher]})
        definition["States"]["after"] = {"Type": "Succeed"}
        assert (
            run_asl(definition, {"in": 1}, recorder({"T": TaskFailed("E", "c")})).output == expected
        )


def test_catch_applies_to_raw_input_not_input_path(run_asl: Any, recorder: Any) -> None:
    definition = task(
        {
            "InputPath": "$.sub",
            "Catch": [{"ErrorEquals": ["E"], "ResultPath": "$.err", "Next": "after"}],
        }
    )
    definition["States"]["after"] = {"Type": "Succeed"}
    result = run_asl(definition, {"sub": {"x": 1}, "top": 2}, recorder({"T": TaskFailed("E")}))
    assert result.output == {"sub": {"x": 1}, "top": 2, "err": {"Error": "E", "Cause": None}}


def test_retry_then_catch(run_asl: Any) -> None:
    clock = VirtualClock()
    inv = Failing(clock, 99, TaskFailed("Lambda.Unknown", "throttled"))
    spec = {"Retry": [{"ErrorEquals": ["Lambda.Unknown"], "MaxAttempts": 2}]}
    result = run_asl(task(spec, catch_to_fail=True), {"p": 1}, inv, clock)
    assert len(inv.contexts) == 3
    assert result.status == "FAILED" and result.failed_state == "failure"
    exited = next(e for e in result.history if e.type == "TaskStateExited")
    assert exited.details["output"]["error"] == {"Error": "Lambda.Unknown", "Cause": "throttled"}


def slow(seconds: float, clock: VirtualClock, beats: int = 0) -> Any:
    async def invoke(resource: Any, params: Any, ctx: TaskContext) -> Any:
        for _ in range(beats):
            await clock.sleep(seconds / (beats + 1))
            ctx.heartbeat()
        await clock.sleep(seconds / (beats + 1) if beats else seconds)
        return "done"

    return invoke


def test_timeout_seconds(run_asl: Any) -> None:
    clock = VirtualClock()
    result = run_asl(task({"TimeoutSeconds": 5}), {}, slow(60, clock), clock)
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert (result.stop - result.start).total_seconds() == 5
    assert "TaskTimedOut" in [e.type for e in result.history]
    assert run_asl(task({"TimeoutSeconds": 100}), {}, slow(60, clock), clock).output == "done"


def test_timeout_seconds_path_and_retry_on_timeout(run_asl: Any) -> None:
    clock = VirtualClock()
    spec = {
        "TimeoutSecondsPath": "$.limit",
        "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}],
    }
    result = run_asl(task(spec), {"limit": 3}, slow(60, clock), clock)
    assert result.error == "States.Timeout"
    assert (result.stop - result.start).total_seconds() == 3 + 1 + 3


def test_task_failed_does_not_catch_timeout(run_asl: Any) -> None:
    clock = VirtualClock()
    spec = {"TimeoutSeconds": 1, "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "after"}]}
    definition = task(spec)
    definition["States"]["after"] = {"Type": "Succeed"}
    assert run_asl(definition, {}, slow(10, clock), clock).error == "States.Timeout"


def test_heartbeat(run_asl: Any) -> None:
    clock = VirtualClock()
    spec = {"TimeoutSeconds": 100, "HeartbeatSeconds": 10}
    silent = run_asl(task(spec), {}, slow(30, clock), clock)
    assert silent.error == "States.Timeout"  # as AWS reports a missed heartbeat
    assert (silent.stop - silent.start).total_seconds() == 10
    assert "TaskTimedOut" in [e.type for e in silent.history]
    beating = run_asl(task(spec), {}, slow(30, clock, beats=5), clock)
    assert beating.status == "SUCCEEDED"


def test_timeout_values_reach_the_context(run_asl: Any, recorder: Any) -> None:
    rec = recorder()
    run_asl(task({"TimeoutSeconds": 30, "HeartbeatSeconds": 10}), {}, rec)
    ctx = rec.calls[0][2]
    assert (ctx.timeout_seconds, ctx.heartbeat_seconds) == (30, 10)


def test_entered_time_is_the_states_not_the_attempts(run_asl: Any) -> None:
    clock = VirtualClock()
    inv = Failing(clock, 2, TaskFailed("E"))
    run_asl(task({"Retry": [{"ErrorEquals": ["E"]}]}), {}, inv, clock)
    assert len({ctx.entered_time for ctx in inv.contexts}) == 1
    assert [ctx.retry_count for ctx in inv.contexts] == [0, 1, 2]


@pytest.mark.parametrize(("cause", "caught"), [(None, None), ("", ""), ("why", "why")])
def test_catch_output_always_has_error_and_cause(
    run_asl: Any, recorder: Any, cause: str | None, caught: str | None
) -> None:
    """Step Functions hands a Catch both fields; a task failure without a cause gives null."""
    definition = task({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "after"}]})
    definition["States"]["after"] = {"Type": "Succeed"}
    result = run_asl(definition, {}, recorder({"T": TaskFailed("E", cause)}))
    assert result.output == {"Error": "E", "Cause": caught}


def test_catch_of_a_fail_state_without_cause_gives_an_empty_cause(run_asl: Any) -> None:
    """A Fail state with no Cause reaches a Catch as Cause "" (and the execution's own cause
    stays absent when nothing catches it)."""
    branch = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "NoCause"}}}
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "H"}]
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [branch], "Catch": catch, "End": True},
            "H": {"Type": "Pass", "End": True},
        },
    }
    result = run_asl(definition, {"keep": 1})
    assert result.output == {"keep": 1, "err": {"Error": "NoCause", "Cause": ""}}
    uncaught = run_asl(branch, {})
    assert (uncaught.status, uncaught.error, uncaught.cause) == ("FAILED", "NoCause", None)


@pytest.mark.parametrize(
    ("pattern", "limits", "caught"),
    [
        ("States.HeartbeatTimeout", {"HeartbeatSeconds": 5}, True),
        ("States.HeartbeatTimeout", {"TimeoutSeconds": 5}, False),
        ("States.Timeout", {"HeartbeatSeconds": 5}, True),
        ("States.TaskFailed", {"HeartbeatSeconds": 5}, False),
    ],
)
def test_heartbeat_timeout_is_states_timeout_that_heartbeat_catchers_also_match(
    run_asl: Any, pattern: str, limits: dict[str, Any], caught: bool
) -> None:
    """A missed heartbeat reports States.Timeout; a States.HeartbeatTimeout catcher picks out
    missed heartbeats only, so they can be handled apart from tasks that are merely slow."""
    clock = VirtualClock()
    spec = {**limits, "Catch": [{"ErrorEquals": [pattern], "Next": "after"}]}
    definition = task(spec)
    definition["States"]["after"] = {"Type": "Pass", "End": True}
    result = run_asl(definition, {}, slow(60, clock), clock)
    if caught:
        assert result.status == "SUCCEEDED"
        assert result.output["Error"] == "States.Timeout"
    else:
        assert (result.status, result.error) == ("FAILED", "States.Timeout")


def test_retry_on_heartbeat_timeout(run_asl: Any) -> None:
    clock = VirtualClock()
    spec = {
        "HeartbeatSeconds": 2,
        "Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"], "MaxAttempts": 1}],
    }
    result = run_asl(task(spec), {}, slow(60, clock), clock)
    assert result.error == "States.Timeout"
    assert (result.stop - result.start).total_seconds() == 2 + 1 + 2
