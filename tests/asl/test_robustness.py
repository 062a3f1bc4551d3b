"""Malformed definitions never crash the checker; whatever it accepts compiles and runs."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from cirrostratus.asl import VirtualClock, check_definition, compile_definition
from cirrostratus.asl.check import FIELDS

NAMES = ["A", "B", "C"]
VALUES: list[Any] = [
    None, True, 0, -1, 1.5, "x", "$", "$.a", "$.a[*]", "$$.Execution.Id", "States.Array(1)",
    "States.Nope()", [], [1], {}, {"a.$": "$.a"}, {"ErrorEquals": ["States.ALL"], "Next": "A"},
    [{"ErrorEquals": ["E"], "Next": "B"}], [{"Variable": "$.a", "IsPresent": True, "Next": "B"}],
    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
    [{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}], "2024-01-01T00:00:00Z", *NAMES,
]  # fmt: skip


def random_state(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(sorted(FIELDS))
    spec: dict[str, Any] = {"Type": kind}
    for field in rng.sample(sorted(FIELDS[kind] - {"Type"}), k=rng.randint(0, 4)):
        spec[field] = rng.choice(VALUES)
    if rng.random() < 0.5:
        spec["Next" if rng.random() < 0.7 else "End"] = rng.choice([*NAMES, True])
    return spec


async def echo(resource: Any, params: Any, ctx: Any) -> Any:
    return params


@pytest.mark.parametrize("seed", range(4))
def test_random_definitions(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        names = NAMES[: rng.randint(1, 3)]
        definition = {"StartAt": rng.choice(NAMES), "States": {n: random_state(rng) for n in names}}
        problems = check_definition(definition)  # must not raise
        if any(p.severity == "error" for p in problems):
            continue
        machine = compile_definition(definition)
        result = asyncio.run(machine.execute({"a": [1, 2]}, invoker=echo, clock=VirtualClock()))
        assert "internal error" not in (result.cause or ""), (definition, result.cause)
