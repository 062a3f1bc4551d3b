"""Shared by the commands that look at a project's local deployment (`.cirro/`).

These open only what they need — the state database, the intake queue, a store — so state
queries stay fast and never start task workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cirrostratus.cli.errors import CliError

#: The project this command works on, once known: lets the entry point name a damaged
#: database file when SQLite reports one from deep inside a command.
current_root: Path | None = None


def project_root(ctx: click.Context) -> Path:
    global current_root
    from cirrostratus.project import ProjectNotFound, find_project

    explicit = (ctx.obj or {}).get("project_dir")
    try:
        current_root = find_project(explicit=explicit) if explicit else find_project(Path.cwd())
    except ProjectNotFound as exc:
        raise CliError(str(exc)) from None
    return current_root


def damaged_databases() -> list[Path]:
    """The current project's databases (state, intake, history) that fail SQLite's
    quick_check: which file to move aside when SQLite says only "malformed"."""
    import sqlite3

    if current_root is None:
        return []
    from cirrostratus.storage.locations import Locations

    loc = Locations.for_project(current_root)
    damaged = []
    for path in (loc.state_db, loc.intake_db, loc.root / "history.db"):
        if not path.exists():
            continue
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            ok = False
        if not ok:
            damaged.append(path)
    return damaged


def locations(ctx: click.Context) -> Any:
    from cirrostratus.storage.locations import Locations

    return Locations.for_project(project_root(ctx))


def open_state(ctx: click.Context) -> Any:
    from cirrostratus.state import SqliteStateStore

    loc = locations(ctx)
    if not loc.state_db.exists():
        raise CliError(f"no state yet at {loc.state_db}: run payloads first (`cirro run PAYLOAD`)")
    return SqliteStateStore(loc.state_db)


def load_runnable_project(root: Path | None) -> Any:
    """The project at `root`, refused (exit 2) when it does not load.

    Loading never raises for a bad file: it records a Problem and skips that part, so a
    cirrus.yml with a YAML error would run with no provider.environment, and a broken
    task definition would surface only as Lambda.ResourceNotFoundException mid-run. Commands
    that run payloads call this first, before anything starts, and print the same lines as
    `cirro validate`. Only loading errors count: they are free to find (the full validation
    imports jsonschema and checks every ASL definition, ~0.15 s per command); warnings pass.
    """
    from cirrostratus.project import Project

    project = Project.load(root)
    errors = [p for p in project.problems if p.severity == "error"]
    if errors:
        lines = "\n".join(f"  {p}" for p in errors)
        raise CliError(
            f"the project at {project.root} does not load, so nothing was started:\n{lines}\n"
            "Fix these (`cirro validate` lists every problem), then run again.",
            2,
        )
    return project


def open_engine(ctx: click.Context, project: Any = None, **kwargs: Any) -> Any:
    """The project's local engine, after refusing a project that does not load (`project`:
    one already loaded with `load_runnable_project`)."""
    from cirrostratus.engine.local import LocalEngine
    from cirrostratus.project import ProjectError
    from cirrostratus.storage.locations import Locations

    root = project_root(ctx)
    project = project or load_runnable_project(root)
    try:
        return LocalEngine(project, Locations.for_project(root), **kwargs)
    except ProjectError as exc:
        raise CliError(str(exc)) from None


def write_file(target: str | Path, data: bytes) -> None:
    """Write a command's output file (`payload get -f`, `task run -o`), the same rule for all:
    missing parent folders are created, as `task run -o out/x.json` always did; a path that
    still cannot be written (a file where a folder should be, no permission) is a usage
    error naming the path, never a traceback. Commands that work before writing call
    `writable` first, so a bad path fails before the work, not after it."""
    writable(target)
    try:
        Path(target).write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}", 2) from None


def writable(target: str | Path) -> None:
    """Create `target`'s missing parent folders; a usage error (2) when that is impossible."""
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next(p for p in path.parents if p.exists())
        raise CliError(f"cannot write {target}: {blocker} is a file, not a folder", 2) from None
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}", 2) from None


def echo_json(obj: Any) -> None:
    import orjson

    click.echo(orjson.dumps(obj, option=orjson.OPT_INDENT_2, default=str).decode())
