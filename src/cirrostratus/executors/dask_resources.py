"""Task needs → Dask resource constraints, checked against what the cluster's workers declare.

Dask places a task with `resources={"GPU": 1}` only on a worker started with that resource,
and waits forever when none has it. A task nothing in the cluster can hold must fail at once
instead, naming what is missing, so `placement` looks at the workers first.

Resource names (declare them on workers with `dask worker --resources "VCPU=8,MEMORY=30000,GPU=1"`):
`VCPU` (vCPUs), `MEMORY` (MiB) and `GPU` (devices). A need for a resource no worker declares
is dropped for VCPU and MEMORY (the cluster does not track them) but refused for GPU: a GPU
task on a cluster that lists no GPU would fail at its first CUDA call, after a long wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

VCPU = "VCPU"
MEMORY = "MEMORY"
GPU = "GPU"
ALWAYS_CHECKED = frozenset({GPU})
UNITS = {MEMORY: "MiB"}


def lambda_needs(memory_mb: int) -> dict[str, float]:
    """A Lambda function holds its memorySize (Lambda gives CPU in proportion; Dask cannot)."""
    return {MEMORY: float(memory_mb)}


def batch_needs(job: Any, overrides: Mapping[str, Any] | None) -> dict[str, float]:
    """A job definition's vCPUs, memory and GPUs, with `ContainerOverrides` applied as the
    local Batch runner applies them."""
    vcpus, memory, gpus = float(job.vcpus), float(job.memory_mb), float(job.gpus)
    for req in (overrides or {}).get("ResourceRequirements") or []:
        kind, value = str(req.get("Type", "")).upper(), req.get("Value")
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if kind == "VCPU":
            vcpus = number
        elif kind == "MEMORY":
            memory = number
        elif kind == "GPU":
            gpus = number
    return {VCPU: vcpus, MEMORY: memory, GPU: gpus}


def placement(
    needs: Mapping[str, float], workers: Iterable[Mapping[str, float]]
) -> tuple[dict[str, float], str | None]:
    """The constraints to submit with, and why no worker can run the task (None: some can).

    With no worker known yet (a cluster still starting) nothing is refused.
    """
    declared = [dict(w) for w in workers]
    constraints: dict[str, float] = {}
    missing: list[str] = []
    for name, amount in needs.items():
        if amount <= 0:
            continue
        offered = [w[name] for w in declared if name in w]
        if offered:
            constraints[name] = amount
            if max(offered) < amount:
                missing.append(
                    f"{_amount(name, amount)} (the largest worker has {_amount(name, max(offered))})"
                )
        elif name in ALWAYS_CHECKED and declared:
            missing.append(f"{_amount(name, amount)} (no worker declares a {name} resource)")
    if not declared:
        return constraints, None
    if missing:
        return constraints, "needs " + ", ".join(missing)
    if not any(all(w.get(n, 0) >= v for n, v in constraints.items()) for w in declared):
        wanted = ", ".join(_amount(n, v) for n, v in constraints.items())
        return constraints, f"needs {wanted} on one worker, and no single worker has all of it"
    return constraints, None


def _amount(name: str, value: float) -> str:
    number = int(value) if float(value).is_integer() else value
    return f"{name}={number} {UNITS.get(name, '')}".rstrip()


def how_to_add(name_list: str) -> str:
    """The hint after a refusal: how workers declare resources."""
    return (
        f"{name_list}; start workers that have it with "
        '`dask worker SCHEDULER --resources "VCPU=8,MEMORY=30000,GPU=1"` (see docs/dask.md)'
    )
