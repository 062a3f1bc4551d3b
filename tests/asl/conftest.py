"""Helpers for the asl tests: run a definition on a virtual clock with a scripted invoker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.asl import ExecutionResult, TaskContext, VirtualClock, compile_definition

DATA = Path(__file__).parent / "data"


class Recorder:
    """An invoker that answers from a script per state name and records every call.

    A script entry may be a value (returned), an exception (raised), or a callable
    `(params, ctx) -> value` (may be async); states not in the script echo their parameters.
    """

    def __init__(self, script: dict[str, Any] | None = None) -> None:
        self.script = script or {}
        self.calls: list[tuple[Any, Any, TaskContext]] = []

    async def __call__(self, resource: Any, params: Any, ctx: TaskContext) -> Any:
        self.calls.append((resource, params, ctx))
        answer = self.script.get(ctx.state_name, params)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(params, ctx)
            if asyncio.iscoroutine(answer):
                answer = await answer
        return answer


RunAsl = Callable[..., ExecutionResult]


@pytest.fixture
def run_asl() -> RunAsl:
    def run(
        definition: dict[str, Any],
        input: Any = None,
        invoker: Any = None,
        clock: VirtualClock | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        sm = compile_definition(definition, strict=kwargs.pop("strict_compile", False))
        return asyncio.run(
            sm.execute(
                {} if input is None else input,
                invoker=invoker or Recorder(),
                clock=clock or VirtualClock(),
                **kwargs,
            )
        )

    return run


@pytest.fixture
def recorder() -> type[Recorder]:
    return Recorder


@pytest.fixture
def load_workflow() -> Callable[[str], dict[str, Any]]:
    """A Cirrus workflow fixture's ASL definition (CloudFormation tags tolerated)."""
    from cirrostratus.cli.workflow import extract_definition, load_document

    return lambda name: extract_definition(load_document(DATA / name), name)
