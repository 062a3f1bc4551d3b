"""stactask Tasks run like any other task: via their module's handler, or as module:Class."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cirrostratus.runtime import LambdaPool, LambdaSpec, TaskFailed
from cirrostratus.runtime.once import class_spec
from cirrostratus.storage.locations import Locations

from .conftest import FIXTURES

STACKY = FIXTURES / "project" / "tasks" / "stacky"


@pytest.fixture(scope="module")
def pool(run: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaPool]:
    locations = Locations.for_project(tmp_path_factory.mktemp("deploy"), env={})
    specs = {
        "stacky": LambdaSpec(name="stacky", directory=STACKY, handler="task.handler"),
        "Stacky": class_spec(
            f"{STACKY / 'task.py'}:Stacky", locations, task_kwargs={"upload": False}
        ),
    }
    p = LambdaPool(specs, logs_dir=locations.logs_dir)
    yield p
    run(p.close())


def _payload(**options: Any) -> dict[str, Any]:
    payload = orjson.loads((FIXTURES / "project" / "payload.json").read_bytes())
    payload["process"][0]["tasks"]["stacky"] = options
    return payload


@pytest.mark.parametrize("name", ["stacky", "Stacky"])
def test_task_runs_and_keeps_the_payload(run: Any, pool: LambdaPool, name: str) -> None:
    payload = _payload(label="x")
    out = run(pool.invoke(name, payload))
    assert out["features"][0]["properties"]["stacky:label"] == "x"
    assert out["process"] == payload["process"] and out["id"] == payload["id"]


@pytest.mark.parametrize("name", ["stacky", "Stacky"])
def test_stactask_invalid_input_is_named_invalid_input(
    run: Any, pool: LambdaPool, name: str
) -> None:
    with pytest.raises(TaskFailed) as info:
        run(pool.invoke(name, _payload(reject=True)))
    assert info.value.error == "InvalidInput"
    assert orjson.loads(info.value.cause or "")["errorMessage"] == "rejected on request"


def test_class_spec_paths(tmp_path: Path) -> None:
    locations = Locations.for_project(tmp_path, env={})
    spec = class_spec("pkg.mod:MyTask", locations)
    assert spec.handler == "pkg.mod:MyTask" and spec.directory == Path.cwd()
    spec = class_spec(f"{STACKY / 'task.py'}:Stacky", locations)
    assert spec.handler == "task:Stacky" and spec.directory == STACKY
