"""Per-task environments: a task with requirements runs in its own cached virtual environment.

Cirrus packages each Lambda with its own requirements (the `requirements.txt` in the task's
folder plus `lambda.pythonRequirements.include` in definition.yml), so real projects pin
different versions per task. Locally each such task gets a virtual environment keyed by the
hash of its requirements and the Python version, built once under
`$XDG_CACHE_HOME/cirrostratus/task-envs/<hash>` (or `$CIRRO_TASK_ENV_CACHE/<hash>`) with `uv`
when it is on PATH, else `venv` + pip, under a file lock so two engines never build the same
one at once.

The environment is plain: none of the engine's packages leak in (that would defeat pinning).
Only what the worker itself needs is made importable — cirrostratus's own package and orjson —
through symlinks in a `cirro-shim/` folder that a `.pth` file appends to sys.path *after* the
environment's site-packages, so a task that pins its own orjson gets its own.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MARKER = "cirro-env.json"
"""Written last: an environment without it is unfinished and gets rebuilt."""
SHIM = "cirro-shim"
PTH = "_cirrostratus_shim.pth"
SWITCH = "CIRRO_TASK_ENVS"
"""`0` turns per-task environments off for this process and its children (`--no-task-envs`)."""
_WORKER_PACKAGES = ("cirrostratus", "orjson")
CREATE = "create the virtual environment"
INSTALL = "install the requirements into"


class TaskEnvError(Exception):
    """A task's environment could not be built: names the task, its requirements, pip's words."""


@dataclass(frozen=True)
class TaskEnv:
    """One task's environment: where it is, its key and what is installed in it."""

    task: str
    path: Path
    key: str
    requirements: tuple[str, ...]

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def ready(self) -> bool:
        return (self.path / MARKER).is_file()


def cache_root() -> Path:
    """`$CIRRO_TASK_ENV_CACHE`, else `$XDG_CACHE_HOME/cirrostratus/task-envs` (~/.cache)."""
    explicit = os.environ.get("CIRRO_TASK_ENV_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "cirrostratus" / "task-envs"


def enabled(project: Any = None) -> bool:
    """Off with `CIRRO_TASK_ENVS=0` (what `--no-task-envs` sets) or `custom.cirro.task_envs: false`."""
    if os.environ.get(SWITCH, "").strip().lower() in ("0", "false", "no", "off"):
        return False
    config = getattr(project, "config", None) or {}
    custom = config.get("custom") if isinstance(config, dict) else None
    cirro = custom.get("cirro") if isinstance(custom, dict) else None
    return not (isinstance(cirro, dict) and cirro.get("task_envs") is False)


def requirements_of(component: Any) -> tuple[list[str], Path | None]:
    """The include lines of definition.yml and the task's requirements.txt (if any)."""
    include = [str(r).strip() for r in getattr(component, "python_requirements", None) or []]
    file = Path(component.directory) / "requirements.txt"
    return [r for r in include if r], file if file.is_file() else None


def _lines(file: Path | None) -> list[str]:
    if file is None:
        return []
    out = []
    for raw in file.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def task_env(component: Any) -> TaskEnv | None:
    """The environment a component runs in, or None when it has no requirements."""
    include, file = requirements_of(component)
    lines = [*_lines(file), *include]
    if not lines:
        return None
    # the version, and the installation the venv links to (another 3.11 is another env)
    python = f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"
    key = "\n".join([python, sys.base_prefix, *lines])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return TaskEnv(component.name, cache_root() / digest, digest, tuple(lines))


def python_for(component: Any, project: Any = None) -> str | None:
    """The interpreter a task's worker runs with: its environment's (built if needed), or None
    (the engine's own) when it has no requirements or environments are off."""
    if not enabled(project):
        return None
    env = task_env(component)
    if env is None:
        return None
    return str(ensure(env, component).python)


def prepare(project: Any) -> dict[str, TaskEnv]:
    """Build every environment the project's active lambdas need, before a run starts work."""
    out: dict[str, TaskEnv] = {}
    if not enabled(project):
        return out
    for group in ("tasks", "functions", "feeders"):
        for name, comp in (getattr(project, group, None) or {}).items():
            if getattr(comp, "lambda_enabled", False) and name not in out:
                env = task_env(comp)
                if env is not None:
                    out[name] = ensure(env, comp)
    return out


_linked: set[Path] = set()


def ensure(env: TaskEnv, component: Any, *, rebuild: bool = False) -> TaskEnv:
    """Build `env` once (under a lock); on every first use per process, refresh its shim."""
    if env.ready and not rebuild:
        if env.path not in _linked:
            _link_worker(env)
        return env
    env.path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(env.path.parent / f"{env.key}.lock"):
        if rebuild and env.path.exists():
            shutil.rmtree(env.path)
        if not env.ready:
            if env.path.exists():  # an interrupted build
                shutil.rmtree(env.path)
            print(
                f"building the environment of task {env.task} (once): {env.path}",
                file=sys.stderr,
                flush=True,
            )
            try:
                _build(env, component)
            except BaseException:
                shutil.rmtree(env.path, ignore_errors=True)
                raise
        _link_worker(env)
    return env


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(env: TaskEnv, argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-8:])
        raise TaskEnvError(
            f"task {env.task}: cannot {what} {env.path} "
            f"(requirements: {', '.join(env.requirements)}):\n{tail}"
        )


def _build(env: TaskEnv, component: Any) -> None:
    include, file = requirements_of(component)
    wanted = [*(["-r", str(file)] if file else []), *include]
    uv = shutil.which("uv")
    python = str(env.python)
    if uv:
        _run(env, [uv, "venv", "--quiet", "--python", sys.executable, str(env.path)], CREATE)
        _run(env, [uv, "pip", "install", "--quiet", "--python", python, *wanted], INSTALL)
    elif importlib.util.find_spec("pip") is not None:
        # the engine's pip installs into a bare venv: no ensurepip round (seconds) per env
        _run(env, [sys.executable, "-m", "venv", "--without-pip", str(env.path)], CREATE)
        pip = [sys.executable, "-m", "pip", "--python", python, "install"]
        _run(env, [*pip, "--quiet", "--disable-pip-version-check", *wanted], INSTALL)
    else:
        _run(env, [sys.executable, "-m", "venv", str(env.path)], CREATE)
        _run(env, [python, "-m", "pip", "install", "--quiet", *wanted], INSTALL)
    record = {
        "task": env.task,
        "key": env.key,
        "requirements": list(env.requirements),
        "python": sys.version.split()[0],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": "uv" if uv else "pip",
    }
    (env.path / MARKER).write_text(json.dumps(record, indent=2) + "\n")


def _site_packages(env: TaskEnv) -> Path:
    found = sorted(env.path.glob("lib/python*/site-packages"))
    if found:
        return found[0]
    rel = Path(sysconfig.get_path("purelib")).relative_to(sys.prefix)
    return env.path / rel


def _link_worker(env: TaskEnv) -> None:
    """Point the env's shim at this engine's cirrostratus and orjson (nothing else)."""
    shim = env.path / SHIM
    shim.mkdir(exist_ok=True)
    for name in _WORKER_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        target = Path(next(iter(spec.submodule_search_locations)))
        link = shim / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        tmp = shim / f".{name}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target, target_is_directory=True)
        tmp.replace(link)  # atomic: a worker starting now sees the old or the new link
    pth = _site_packages(env) / PTH
    text = f"{shim}\n"
    if not pth.is_file() or pth.read_text() != text:
        pth.parent.mkdir(parents=True, exist_ok=True)
        pth.write_text(text)
    _linked.add(env.path)


def describe(env: TaskEnv) -> dict[str, Any]:
    """What `cirro task env` shows."""
    record: dict[str, Any] = {}
    if env.ready:
        try:
            record = json.loads((env.path / MARKER).read_text())
        except (OSError, ValueError):
            record = {}
    return {
        "task": env.task,
        "path": str(env.path),
        "hash": env.key,
        "python": str(env.python),
        "python_version": record.get("python", sys.version.split()[0]),
        "requirements": list(env.requirements),
        "built_at": record.get("built_at"),
        "tool": record.get("tool"),
    }
