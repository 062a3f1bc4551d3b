"""Map and Parallel: items, selectors, concurrency limits, failure tolerance and errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cirrostratus.asl import TaskContext, TaskFailed, VirtualClock

ITER_PASS = {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}
ITER_TASK = {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": "work", "End": True}}}


def map_state(
    extra: dict[str, Any], processor: dict[str, Any] = ITER_PASS, key: str = "ItemProcessor"
) -> dict[str, Any]:
    return {"StartAt": "M", "States": {"M": {"Type": "Map", key: processor, "End": True, **extra}}}


@pytest.mark.parametrize("key", ["ItemProcessor", "Iterator"])
def test_map_over_items_path(run_asl: Any, key: str) -> None:
    result = run_asl(
        map_state({"ItemsPath": "$.items", "ResultPath": "$.out"}, key=key), {"items": [1, 2, 3]}
    )
    assert result.output == {"items": [1, 2, 3], "out": [1, 2, 3]}


@pytest.mark.parametrize("key", ["ItemSelector", "Parameters"])
def test_item_selector_sees_item_index_and_input(run_asl: Any, key: str) -> None:
    selector = {
        "value.$": "$$.Map.Item.Value",
        "index.$": "$$.Map.Item.Index",
        "shared.$": "$.shared",
    }
    result = run_asl(
        map_state({"ItemsPath": "$.items", key: selector}), {"items": ["a", "b"], "shared": 7}
    )
    assert result.output == [
        {"value": "a", "index": 0, "shared": 7},
        {"value": "b", "index": 1, "shared": 7},
    ]


def test_map_empty_and_result_selector(run_asl: Any) -> None:
    assert run_asl(map_state({}), []).output == []
    result = run_asl(map_state({"ResultSelector": {"n.$": "States.ArrayLength($)"}}), [1, 2])
    assert result.output == {"n": 2}


def test_items_path_must_be_an_array(run_asl: Any) -> None:
    result = run_asl(map_state({"ItemsPath": "$.x"}), {"x": {"not": "a list"}})
    assert result.error == "States.Runtime"


def test_map_history_events(run_asl: Any) -> None:
    result = run_asl(map_state({}), [1, 2])
    types = [e.type for e in result.history]
    assert types[:4] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
    ]
    assert types.count("MapIterationSucceeded") == 2
    inner = [e for e in result.history if e.type == "PassStateEntered"]
    assert [e.path for e in inner] == ["M/0/I", "M/1/I"]


def tracking(clock: VirtualClock, fail_on: set[Any] | None = None) -> tuple[Any, dict[str, int]]:
    stats = {"running": 0, "peak": 0}

    async def invoke(resource: Any, params: Any, ctx: TaskContext) -> Any:
        stats["running"] += 1
        stats["peak"] = max(stats["peak"], stats["running"])
        try:
            await clock.sleep(10)
        finally:
            stats["running"] -= 1
        if fail_on and params in fail_on:
            raise TaskFailed("Item.Failed", f"item {params}")
        return params * 10

    return invoke, stats


@pytest.mark.parametrize(
    ("limit", "peak", "elapsed"), [(0, 6, 10), (2, 2, 30), (1, 1, 60), (10, 6, 10)]
)
def test_max_concurrency(run_asl: Any, limit: int, peak: int, elapsed: int) -> None:
    clock = VirtualClock()
    invoke, stats = tracking(clock)
    result = run_asl(
        map_state({"MaxConcurrency": limit}, ITER_TASK), [1, 2, 3, 4, 5, 6], invoke, clock
    )
    assert result.output == [10, 20, 30, 40, 50, 60]
    assert stats["peak"] == peak
    assert (result.stop - result.start).total_seconds() == elapsed


def test_max_concurrency_path(run_asl: Any) -> None:
    clock = VirtualClock()
    invoke, stats = tracking(clock)
    definition = map_state({"MaxConcurrencyPath": "$.limit", "ItemsPath": "$.items"}, ITER_TASK)
    run_asl(definition, {"limit": 3, "items": list(range(9))}, invoke, clock)
    assert stats["peak"] == 3


def test_a_failed_iteration_fails_the_map_and_cancels_the_rest(run_asl: Any) -> None:
    clock = VirtualClock()
    invoke, stats = tracking(clock, fail_on={2})
    result = run_asl(map_state({"MaxConcurrency": 2}, ITER_TASK), [1, 2, 3, 4], invoke, clock)
    assert (result.error, result.cause) == ("Item.Failed", "item 2")
    assert result.failed_state == "M/1/I"
    assert stats["running"] == 0
    types = [e.type for e in result.history]
    assert "MapIterationFailed" in types and "MapStateFailed" in types


def test_map_catch(run_asl: Any) -> None:
    clock = VirtualClock()
    invoke, _ = tracking(clock, fail_on={1})
    definition = map_state(
        {
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "after"}],
            "ItemsPath": "$.items",
        },
        ITER_TASK,
    )
    definition["States"]["M"].pop("End")
    definition["States"]["M"]["Next"] = "after"
    definition["States"]["after"] = {"Type": "Succeed"}
    result = run_asl(definition, {"items": [1]}, invoke, clock)
    assert result.output["error"]["Error"] == "Item.Failed"


@pytest.mark.parametrize(
    ("tolerance", "failing", "status"),
    [
        ({"ToleratedFailureCount": 2}, {1, 2}, "SUCCEEDED"),
        ({"ToleratedFailureCount": 1}, {1, 2}, "FAILED"),
        ({"ToleratedFailurePercentage": 50}, {1, 2}, "SUCCEEDED"),
        ({"ToleratedFailurePercentage": 49}, {1, 2}, "FAILED"),
        ({"ToleratedFailureCountPath": "$.n", "ItemsPath": "$.items"}, {1}, "SUCCEEDED"),
        ({"ToleratedFailurePercentagePath": "$.p", "ItemsPath": "$.items"}, {1, 2, 3}, "FAILED"),
    ],
)
def test_tolerated_failures(
    run_asl: Any, tolerance: dict[str, Any], failing: set[int], status: str
) -> None:
    clock = VirtualClock()
    invoke, _ = tracking(clock, fail_on=failing)
    items = [1, 2, 3, 4]
    data: Any = {"items": items, "n": 1, "p": 50} if "ItemsPath" in tolerance else items
    result = run_asl(map_state(tolerance, ITER_TASK), data, invoke, clock)
    assert result.status == status
    if status == "FAILED":
        assert result.error == "States.ExceedToleratedFailureThreshold"
    else:
        assert result.output[0] == {"Error": "Item.Failed", "Cause": "item 1"}
        assert result.output[3] == 40


def test_nested_map(run_asl: Any) -> None:
    inner = {
        "StartAt": "Inner",
        "States": {"Inner": {"Type": "Map", "ItemProcessor": ITER_PASS, "End": True}},
    }
    result = run_asl(map_state({}, inner), [[1, 2], [3]])
    assert result.output == [[1, 2], [3]]
    paths = [e.path for e in result.history if e.type == "PassStateEntered"]
    assert paths == ["M/0/Inner/0/I", "M/0/Inner/1/I", "M/1/Inner/0/I"]


def parallel(branches: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": branches, "End": True, **(extra or {})}},
    }


def branch(result: Any) -> dict[str, Any]:
    return {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": result, "End": True}}}


def test_parallel_collects_branch_outputs_in_order(run_asl: Any) -> None:
    result = run_asl(
        parallel([branch("a"), branch("b"), ITER_PASS], {"ResultPath": "$.r"}), {"x": 1}
    )
    assert result.output == {"x": 1, "r": ["a", "b", {"x": 1}]}


def test_parallel_parameters_and_result_selector(run_asl: Any) -> None:
    extra = {"Parameters": {"v.$": "$.x"}, "ResultSelector": {"first.$": "$[0]"}}
    assert run_asl(parallel([ITER_PASS], extra), {"x": 5}).output == {"first": {"v": 5}}


def test_parallel_branches_run_concurrently(run_asl: Any) -> None:
    clock = VirtualClock()
    invoke, stats = tracking(clock)
    task_branch = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": True}}}
    result = run_asl(parallel([task_branch, task_branch, task_branch]), 1, invoke, clock)
    assert result.output == [10, 10, 10] and stats["peak"] == 3
    assert (result.stop - result.start).total_seconds() == 10


def test_parallel_branch_failure_propagates_its_error(run_asl: Any) -> None:
    failing = {
        "StartAt": "F",
        "States": {"F": {"Type": "Fail", "Error": "Branch.Broke", "Cause": "c"}},
    }
    result = run_asl(parallel([branch(1), failing]))
    assert (result.error, result.cause, result.failed_state) == ("Branch.Broke", "c", "P/1/F")
    assert "ParallelStateFailed" in [e.type for e in result.history]


def test_parallel_retry_reruns_all_branches(run_asl: Any) -> None:
    clock = VirtualClock()
    calls: list[int] = []

    async def invoke(resource: Any, params: Any, ctx: TaskContext) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise TaskFailed("Flaky")
        return "ok"

    task_branch = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": True}}}
    definition = parallel(
        [task_branch], {"Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}]}
    )
    result = run_asl(definition, {}, invoke, clock)
    assert result.output == ["ok"] and len(calls) == 2 and clock.slept == [1.0]


def test_sync_and_async_paths_agree(run_asl: Any) -> None:
    """The same Map over Pass states, once as a plain loop and once forced async by a Retry."""
    plain = map_state({"ItemSelector": {"v.$": "$$.Map.Item.Value"}})
    forced = map_state(
        {"ItemSelector": {"v.$": "$$.Map.Item.Value"}, "Retry": [{"ErrorEquals": ["X"]}]}
    )
    a, b = run_asl(plain, [1, 2, 3]), run_asl(forced, [1, 2, 3])
    assert a.output == b.output == [{"v": 1}, {"v": 2}, {"v": 3}]
    assert [e.type for e in a.history] == [e.type for e in b.history]


def test_many_concurrent_executions_share_one_machine() -> None:
    from cirrostratus.asl import compile_definition

    sm = compile_definition(map_state({"ItemsPath": "$.items"}, ITER_TASK))

    async def invoke(resource: Any, params: Any, ctx: TaskContext) -> Any:
        await asyncio.sleep(0)
        return params + 1

    async def main() -> list[Any]:
        runs = [sm.execute({"items": [i, i]}, invoker=invoke) for i in range(50)]
        return [r.output for r in await asyncio.gather(*runs)]

    assert asyncio.run(main()) == [[i + 1, i + 1] for i in range(50)]


def test_items_path_may_read_the_context_object(run_asl: Any) -> None:
    result = run_asl(map_state({"ItemsPath": "$$.Execution.Input.items"}), {"items": [1, 2]})
    assert result.output == [1, 2]


def test_distributed_map_tolerates_no_failure_by_default(run_asl: Any) -> None:
    clock = VirtualClock()
    invoke, _ = tracking(clock, fail_on={2})
    processor = {
        **ITER_TASK,
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    }
    result = run_asl(map_state({}, processor), [1, 2, 3], invoke, clock)
    assert result.error == "States.ExceedToleratedFailureThreshold"
    inline = run_asl(map_state({}, ITER_TASK), [1, 2, 3], invoke, clock)
    assert inline.error == "Item.Failed"
