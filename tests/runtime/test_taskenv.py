"""Per-task environments: each task with requirements runs in its own cached venv.

No network: the fake package `pinme` (1.0 and 2.0) is written as two wheels at test time and
pip is pointed at them with PIP_NO_INDEX / PIP_FIND_LINKS (pip reads them natively). One
cache folder serves the whole module so each environment is built once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

CIRRO = [sys.executable, "-m", "cirrostratus"]

CIRRUS_YML = """\
service: envtest
provider:
  name: aws
  stage: dev
  region: us-west-2
"""

HANDLER = """\
import sys


def handler(event, context=None):
    try:
        import pinme
        version = pinme.__version__
    except ImportError:
        version = None
    seen = event.setdefault("seen", {{}})
    seen["{name}"] = {{"pinme": version, "prefix": sys.prefix}}
    return event
"""

WORKFLOW = """\
name: envtest-dev-pins
definition:
  StartAt: one
  States:
    one:
      Type: Task
      Resource: !GetAtt {first}.Arn
      Next: two
    two:
      Type: Task
      Resource: !GetAtt {second}.Arn
      End: true
"""


def _wheel(folder: Path, version: str) -> None:
    """A minimal valid wheel of `pinme` whose __version__ is `version`."""
    dist = f"pinme-{version}.dist-info"
    with zipfile.ZipFile(folder / f"pinme-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr("pinme/__init__.py", f'__version__ = "{version}"\n')
        zf.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: pinme\nVersion: {version}\n")
        zf.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(
            f"{dist}/RECORD",
            f"pinme/__init__.py,,\n{dist}/METADATA,,\n{dist}/WHEEL,,\n{dist}/RECORD,,\n",
        )


def _task(
    root: Path, name: str, *, requirements: str | None = None, include: str | None = None
) -> None:
    folder = root / "tasks" / name
    folder.mkdir(parents=True)
    definition = "description: pins\nlambda:\n  handler: lambda_function.handler\n  timeout: 30\n"
    if include is not None:
        definition += f"  pythonRequirements:\n    include:\n      - {include}\n"
    (folder / "definition.yml").write_text(definition)
    (folder / "lambda_function.py").write_text(HANDLER.format(name=name))
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements + "\n")


def _project(
    root: Path, first: tuple[str, dict[str, str]], second: tuple[str, dict[str, str]]
) -> Path:
    root.mkdir(parents=True)
    (root / "cirrus.yml").write_text(CIRRUS_YML)
    for name, kw in (first, second):
        _task(root, name, **kw)
    wf = root / "workflows" / "pins"
    wf.mkdir(parents=True)
    (wf / "definition.yml").write_text(WORKFLOW.format(first=first[0], second=second[0]))
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("taskenv")
    wheels = base / "wheels"
    wheels.mkdir()
    _wheel(wheels, "1.0")
    _wheel(wheels, "2.0")
    env = {
        **os.environ,
        "CIRRO_TASK_ENV_CACHE": str(base / "cache"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "UV_NO_INDEX": "1",
        "UV_FIND_LINKS": str(wheels),
        "PATH": "/usr/bin:/bin",  # no uv: the venv + pip path, the same on every machine
    }
    project = _project(
        base / "project",
        ("pin-one", {"requirements": "pinme==1.0"}),
        ("pin-two", {"include": "pinme==2.0"}),
    )
    return {"base": base, "env": env, "project": project}


def cirro(world: dict[str, Any], project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CIRRO, "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=world["env"],
        cwd=world["base"],
        timeout=240,
    )


def _payload(world: dict[str, Any], item: str) -> Path:
    payload = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item,
                "collection": "c",
                "geometry": None,
                "properties": {"datetime": "2024-07-04T00:00:00Z"},
                "assets": {},
                "links": [],
            }
        ],
        "process": {"workflow": "pins", "upload_options": {}, "tasks": {}},
    }
    path = world["base"] / f"{item}.json"
    path.write_text(json.dumps(payload))
    return path


def _output(world: dict[str, Any], project: Path, item: str) -> dict[str, Any]:
    got = cirro(world, project, "payload", "get", f"c/workflow-pins/{item}", "--output")
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def _envs(world: dict[str, Any]) -> list[Path]:
    cache = Path(world["env"]["CIRRO_TASK_ENV_CACHE"])
    return sorted(p for p in cache.iterdir() if p.is_dir()) if cache.is_dir() else []


def test_two_tasks_pinning_different_versions_each_see_their_own(world: dict[str, Any]) -> None:
    project = world["project"]
    proc = cirro(world, project, "run", "--json", str(_payload(world, "a1")))
    assert proc.returncode == 0, proc.stderr
    assert "building the environment of task pin-one (once)" in proc.stderr
    assert "building the environment of task pin-two (once)" in proc.stderr
    seen = _output(world, project, "a1")["seen"]
    assert seen["pin-one"]["pinme"] == "1.0"
    assert seen["pin-two"]["pinme"] == "2.0"
    envs = _envs(world)
    assert len(envs) == 2
    assert {seen["pin-one"]["prefix"], seen["pin-two"]["prefix"]} == {str(p) for p in envs}
    # the engine's own packages do not leak in: only cirrostratus and orjson are shimmed
    leak = subprocess.run(
        [str(envs[0] / "bin" / "python"), "-c", "import click"], capture_output=True
    )
    assert leak.returncode != 0


def test_a_second_run_reuses_the_environments(world: dict[str, Any]) -> None:
    project = world["project"]
    first = cirro(world, project, "run", "--json", str(_payload(world, "b0")))
    assert first.returncode == 0, first.stderr
    markers = {p: (p / "cirro-env.json").stat().st_mtime_ns for p in _envs(world)}
    proc = cirro(world, project, "run", "--json", str(_payload(world, "b1")))
    assert proc.returncode == 0, proc.stderr
    assert "building the environment" not in proc.stderr
    assert {p: (p / "cirro-env.json").stat().st_mtime_ns for p in _envs(world)} == markers
    assert _output(world, project, "b1")["seen"]["pin-two"]["pinme"] == "2.0"


def test_task_env_shows_and_rebuilds(world: dict[str, Any]) -> None:
    project = world["project"]
    shown = cirro(world, project, "task", "env", "pin-one", "--json")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["requirements"] == ["pinme==1.0"]
    assert Path(info["path"]).parent == Path(world["env"]["CIRRO_TASK_ENV_CACHE"])
    marker = Path(info["path"]) / "cirro-env.json"
    before = marker.stat().st_mtime_ns
    again = cirro(world, project, "task", "env", "pin-one", "--rebuild")
    assert again.returncode == 0, again.stderr
    assert "building the environment of task pin-one (once)" in again.stderr
    assert marker.stat().st_mtime_ns != before
    assert f"hash:         {info['hash']}" in again.stdout


def test_unsatisfiable_requirement_is_a_clear_error(world: dict[str, Any]) -> None:
    project = _project(
        world["base"] / "bad",
        ("pin-one", {"requirements": "pinme==1.0"}),
        ("pin-nine", {"include": "pinme==9.9"}),
    )
    proc = cirro(world, project, "run", str(_payload(world, "c1")))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "task pin-nine" in proc.stderr and "pinme==9.9" in proc.stderr
    shown = cirro(world, project, "task", "env", "pin-nine")
    assert shown.returncode == 1 and "pinme==9.9" in shown.stderr
    # nothing half-built is left behind for the next run to trust (pin-one's env is shared)
    assert len(_envs(world)) == 2


def test_no_task_envs_runs_in_the_current_interpreter(world: dict[str, Any]) -> None:
    project = world["project"]
    proc = cirro(world, project, "run", "--no-task-envs", "--json", str(_payload(world, "d1")))
    assert proc.returncode == 0, proc.stderr
    seen = _output(world, project, "d1")["seen"]
    assert seen["pin-one"]["prefix"] == sys.prefix
    assert seen["pin-one"]["pinme"] is None  # the engine's environment has no pinme
    task = cirro(
        world, project, "task", "run", "pin-two", str(_payload(world, "d2")), "--no-task-envs"
    )
    assert task.returncode == 0, task.stderr
    assert json.loads(task.stdout)["seen"]["pin-two"]["prefix"] == sys.prefix
    task = cirro(world, project, "task", "run", "pin-two", str(_payload(world, "d3")))
    assert task.returncode == 0, task.stderr
    assert json.loads(task.stdout)["seen"]["pin-two"]["pinme"] == "2.0"


def test_batch_runs_the_lambda_code_in_the_same_environment(world: dict[str, Any]) -> None:
    project = world["project"]
    proc = cirro(world, project, "task", "run", "pin-one", str(_payload(world, "e1")), "--batch")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)["seen"]["pin-one"]
    assert seen["pinme"] == "1.0" and seen["prefix"] != sys.prefix


def test_project_default_turns_them_off(world: dict[str, Any]) -> None:
    project = _project(
        world["base"] / "off",
        ("pin-one", {"requirements": "pinme==1.0"}),
        ("pin-two", {"include": "pinme==2.0"}),
    )
    cfg = project / "cirrus.yml"
    cfg.write_text(cfg.read_text() + "custom:\n  cirro:\n    task_envs: false\n")
    proc = cirro(world, project, "task", "run", "pin-one", str(_payload(world, "f1")))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["seen"]["pin-one"]["prefix"] == sys.prefix


def test_a_build_failure_on_first_use_fails_the_invocation_by_name() -> None:
    """Used from Python without the CLI's build-before-run, the pool says what failed."""
    import asyncio

    from cirrostratus.runtime.errors import TaskFailed
    from cirrostratus.runtime.pool import LambdaPool
    from cirrostratus.runtime.taskenv import TaskEnvError

    def lookup(name: str) -> Any:
        raise TaskEnvError(f"task {name}: cannot install the requirements (pinme==9.9)")

    async def go() -> TaskFailed:
        async with LambdaPool(lookup) as pool:
            with pytest.raises(TaskFailed) as caught:
                await pool.invoke("pin-nine", {})
            return caught.value

    failed = asyncio.run(go())
    assert failed.error == "Runtime.TaskEnvError"
    assert "pin-nine" in str(failed.cause) and "pinme==9.9" in str(failed.cause)


def test_two_engines_building_the_same_environment_build_it_once(world: dict[str, Any]) -> None:
    project = _project(
        world["base"] / "race",
        ("pin-race", {"requirements": "pinme==1.0\npinme>=0.5"}),
        ("pin-two", {"include": "pinme==2.0"}),
    )
    argv = [*CIRRO, "--project", str(project), "task", "env", "pin-race"]
    procs = [
        subprocess.Popen(
            argv,
            env=world["env"],
            cwd=world["base"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    builds = sum(err.count("building the environment of task pin-race") for _, err in results)
    assert builds == 1
    assert results[0][0] == results[1][0]  # both show the same environment
