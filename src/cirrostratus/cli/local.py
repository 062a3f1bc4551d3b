"""Shared by the commands that look at a project's local deployment (`.cirro/`).

These open only what they need — the state database, the intake queue, a store — so state
queries stay fast and never start task workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cirrostratus.cli.errors import CliError


def project_root(ctx: click.Context) -> Path:
    from cirrostratus.project import ProjectNotFound, find_project

    explicit = (ctx.obj or {}).get("project_dir")
    try:
        return find_project(explicit=explicit) if explicit else find_project(Path.cwd())
    except ProjectNotFound as exc:
        raise CliError(str(exc)) from None


def locations(ctx: click.Context) -> Any:
    from cirrostratus.storage.locations import Locations

    return Locations.for_project(project_root(ctx))


def open_state(ctx: click.Context) -> Any:
    from cirrostratus.state import SqliteStateStore

    loc = locations(ctx)
    if not loc.state_db.exists():
        raise CliError(f"no state yet at {loc.state_db}: run payloads first (`cirro run PAYLOAD`)")
    return SqliteStateStore(loc.state_db)


def open_engine(ctx: click.Context, **kwargs: Any) -> Any:
    from cirrostratus.engine.local import LocalEngine
    from cirrostratus.project import ProjectError, ProjectNotFound

    try:
        return LocalEngine.open(project_root(ctx), **kwargs)
    except (ProjectError, ProjectNotFound) as exc:
        raise CliError(str(exc)) from None


def echo_json(obj: Any) -> None:
    import orjson

    click.echo(orjson.dumps(obj, option=orjson.OPT_INDENT_2, default=str).decode())
