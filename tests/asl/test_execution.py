"""Whole executions: history, abort, execution timeout, the data limit and infinite loops."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cirrostratus.asl import TaskContext, TaskFailed, VirtualClock, compile_definition

TASK = {
    "StartAt": "T",
    "States": {"T": {"Type": "Task", "Resource": "r", "Next": "Done"}, "Done": {"Type": "Succeed"}},
}


def test_history_records_every_step_in_order(run_asl: Any, recorder: Any) -> None:
    result = run_asl(TASK, {"a": 1}, recorder({"T": {"b": 2}}), name="n1")
    types = [e.type for e in result.history]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [e.id for e in result.history] == list(range(1, 10))
    assert result.history[2].details == {"resource": "r", "parameters": {"a": 1}}
    as_dict = result.history[1].to_dict()
    assert as_dict["state"] == "T" and as_dict["timestamp"].endswith("Z")
    assert result.execution_id.endswith(":StateMachine:n1") and result.name == "n1"


def test_history_can_be_turned_off(run_asl: Any, recorder: Any) -> None:
    result = run_asl(TASK, {}, recorder({"T": 1}), history=False)
    assert result.status == "SUCCEEDED" and result.history == []


def test_abort_cancels_running_tasks() -> None:
    cancelled: list[str] = []

    async def forever(resource: Any, params: Any, ctx: TaskContext) -> Any:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(ctx.state_path)
            raise

    branch = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": True}}}
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [branch, branch], "End": True}},
    }

    async def main() -> Any:
        execution = compile_definition(definition).start({}, invoker=forever)
        await asyncio.sleep(0.01)
        assert not execution.done and len(execution.history) > 3
        execution.abort()
        return await execution.wait()

    result = asyncio.run(main())
    assert result.status == "ABORTED"
    assert sorted(cancelled) == ["P/0/T", "P/1/T"]
    assert result.history[-1].type == "ExecutionAborted"
    assert "ParallelStateAborted" in [e.type for e in result.history]


def test_abort_before_it_runs() -> None:
    async def main() -> Any:
        execution = compile_definition(TASK).start({})
        execution.abort()
        return await execution.wait()

    assert asyncio.run(main()).status == "ABORTED"


def test_abort_stops_a_loop_without_tasks() -> None:
    loop = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "End"}],
                "Default": "A",
            },
            "End": {"Type": "Succeed"},
        },
    }

    async def main() -> Any:
        execution = compile_definition(loop).start({}, history=False)
        await asyncio.sleep(0.01)
        execution.abort()
        return await execution.wait()

    assert asyncio.run(main()).status == "ABORTED"


def test_execution_timeout(run_asl: Any) -> None:
    definition = {
        "TimeoutSeconds": 30,
        **{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}},
    }
    clock = VirtualClock()
    result = run_asl(definition, {}, clock=clock)
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert (result.stop - result.start).total_seconds() == 30
    assert result.history[-1].type == "ExecutionTimedOut"
    quick = {**definition, "TimeoutSeconds": 90}
    assert run_asl(quick, {}, clock=VirtualClock()).status == "SUCCEEDED"


def test_loop_inside_a_map_iteration_is_stopped(run_asl: Any) -> None:
    iterator = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
    }
    iterator["States"]["C"] = {"Type": "Succeed"}
    iterator["States"]["B"] = {
        "Type": "Choice",
        "Choices": [{"Variable": "$", "IsNull": True, "Next": "C"}],
        "Default": "A",
    }
    definition = {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": iterator, "End": True}},
    }
    result = run_asl(definition, [1], history=False)
    assert result.error == "States.Runtime" and "loop" in result.cause


BIG = {"blob": "x" * 300_000}


def test_data_limit_warns_by_default(run_asl: Any, recorder: Any) -> None:
    result = run_asl(TASK, {}, recorder({"T": BIG}))
    assert result.status == "SUCCEEDED"
    assert result.warnings and "256 KiB" in result.warnings[0] and "'T'" in result.warnings[0]
    assert "DataLimitWarning" in [e.type for e in result.history]


@pytest.mark.parametrize("how", ["compile", "execute"])
def test_data_limit_strict(run_asl: Any, recorder: Any, how: str) -> None:
    kwargs: dict[str, Any] = {"strict_compile": True} if how == "compile" else {"strict": True}
    catch = {
        **TASK,
        "States": {
            **TASK["States"],
            "T": {
                **TASK["States"]["T"],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
            },
        },
    }
    result = run_asl(catch, {}, recorder({"T": BIG}), **kwargs)
    assert result.status == "FAILED" and result.error == "States.DataLimitExceeded"


def test_big_execution_input_is_reported(run_asl: Any) -> None:
    result = run_asl({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}, BIG)
    assert result.warnings


def test_compiled_machine_exposes_states_and_warnings() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Label": "x",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                "End": True,
            }
        },
    }
    sm = compile_definition(definition, name="wf")
    assert set(sm.states) == {"M"} and sm.arn.endswith(":stateMachine:wf")
    assert [p.field for p in sm.problems] == ["Label"]


def test_abort_with_error_and_cause() -> None:
    async def forever(resource: Any, params: Any, ctx: TaskContext) -> Any:
        await asyncio.sleep(3600)

    async def main() -> Any:
        execution = compile_definition(TASK).start({}, invoker=forever)
        await asyncio.sleep(0.01)
        execution.abort("User.Cancelled", "replaced by a newer payload")
        return await execution.wait()

    result = asyncio.run(main())
    assert (result.status, result.error, result.cause) == (
        "ABORTED",
        "User.Cancelled",
        "replaced by a newer payload",
    )


def test_an_internal_error_fails_the_execution_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cirrostratus.asl import states

    def broken(self: Any, run: Any, scope: Any, raw: Any) -> Any:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(states.Succeed, "step", broken)
    result = asyncio.run(
        compile_definition({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}).execute({})
    )
    assert result.status == "FAILED" and result.error == "States.Runtime"
    assert "ZeroDivisionError: bug" in result.cause


def test_state_spans_show_where_time_went_and_what_failed(run_asl: Any) -> None:
    from cirrostratus.asl import TaskFailed, state_spans

    async def slow(resource: Any, params: Any, ctx: TaskContext) -> Any:
        await clock.sleep(5 if ctx.state_name == "T" else 1)
        if ctx.state_name == "U":
            raise TaskFailed("Boom", "bad")
        return params

    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "r", "Next": "P"},
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "U",
                        "States": {"U": {"Type": "Task", "Resource": "r", "End": True}},
                    }
                ],
            },
        },
    }
    clock = VirtualClock()
    spans = state_spans(run_asl(definition, {}, slow, clock).history)
    assert [(s.path, s.type, s.seconds, s.error) for s in spans] == [
        ("T", "Task", 5.0, None),
        ("P", "Parallel", 1.0, "Boom"),
        ("P/0/U", "Task", 1.0, "Boom"),
    ]


def test_abort_during_a_timed_task_leaves_nothing_running() -> None:
    cancelled: list[bool] = []

    async def forever(resource: Any, params: Any, ctx: TaskContext) -> Any:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "r",
                "TimeoutSeconds": 600,
                "HeartbeatSeconds": 60,
                "End": True,
            }
        },
    }

    async def main() -> tuple[Any, int]:
        execution = compile_definition(definition).start({}, invoker=forever)
        await asyncio.sleep(0.01)
        execution.abort()
        result = await execution.wait()
        await asyncio.sleep(0)
        return result, len(asyncio.all_tasks()) - 1  # minus main()

    result, left = asyncio.run(main())
    assert result.status == "ABORTED" and cancelled == [True] and left == 0


def test_a_catch_loop_that_never_suspends_can_still_be_aborted() -> None:
    async def instant(resource: Any, params: Any, ctx: TaskContext) -> Any:
        raise TaskFailed("Broken", "fails at once, without ever suspending")

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "r",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "T"}],
                "End": True,
            }
        },
    }

    async def main() -> Any:
        execution = compile_definition(definition).start({}, invoker=instant, history=False)
        await asyncio.sleep(0.01)
        execution.abort()
        return await execution.wait()

    assert asyncio.run(main()).status == "ABORTED"


def test_simultaneous_failures_leave_no_unretrieved_task_errors() -> None:
    seen: list[dict[str, Any]] = []

    async def failing(resource: Any, params: Any, ctx: TaskContext) -> Any:
        from cirrostratus.asl import TaskFailed

        await asyncio.sleep(0)
        raise TaskFailed("Boom", str(params))

    iterator = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": True}}}
    mapper = {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": iterator, "End": True}},
    }
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [mapper, mapper], "End": True}},
    }

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: seen.append(context))
        result = await compile_definition(definition).execute([1, 2, 3], invoker=failing)
        await asyncio.sleep(0)
        return result

    result = asyncio.run(main())
    import gc

    gc.collect()
    assert result.error == "Boom"
    assert seen == []
