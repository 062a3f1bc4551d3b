"""`cirro show plugins`: the Cirrus plugins installed in this Python environment.

Cirrus 0.9 finds plugins through entry points: `cirrus.plugins` (packages that add tasks,
workflows, feeders, functions or CloudFormation) and `cirrus.commands` (extra `cirrus` CLI
commands). `cirrus show plugins` lists the first group as `name: <package summary>`; this
lists both, and says plainly that cirro does not load either yet, so a project relying on a
plugin's components is not complete here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

import click

GROUPS = {"cirrus.plugins": "plugin", "cirrus.commands": "cirrus command"}

EntryPoints = Callable[[str], Iterable[metadata.EntryPoint]]


def _entry_points(group: str) -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=group)


def installed_plugins(entry_points: EntryPoints | None = None) -> list[dict[str, Any]]:
    """Every entry point of Cirrus's plugin groups, with the package that provides it."""
    entry_points = entry_points or _entry_points
    found = []
    for group, kind in GROUPS.items():
        for ep in sorted(entry_points(group), key=lambda e: e.name):
            package, summary = _package(ep)
            found.append(
                {
                    "name": ep.name,
                    "group": group,
                    "kind": kind,
                    "value": ep.value,
                    "package": package,
                    "summary": summary,
                }
            )
    return found


def _package(ep: metadata.EntryPoint) -> tuple[str | None, str | None]:
    """The distribution providing `ep` and its summary; Cirrus looks the entry point's
    name up as a package name, used here when the entry point does not say its own."""
    dist = getattr(ep, "dist", None)
    try:
        meta = dist.metadata if dist is not None else metadata.metadata(ep.name)
    except metadata.PackageNotFoundError:
        return None, None
    return meta["Name"], meta["Summary"]  # a missing field reads as None


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def plugins(as_json: bool) -> None:
    """List installed Cirrus plugins (entry points cirrus.plugins and cirrus.commands)."""
    found = installed_plugins()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no plugins installed")
        return
    for plugin in found:
        label = (
            plugin["name"] if plugin["kind"] == "plugin" else f"{plugin['name']} (cirrus command)"
        )
        if plugin["package"] is None:
            click.echo(click.style(f"{label} (unknown package):", fg="red"))
        else:
            summary = f" {plugin['summary']}" if plugin["summary"] else ""
            click.echo(f"{click.style(label + ':', fg='blue')}{summary}")
    click.secho(
        "cirro does not load plugins yet: their tasks, workflows and commands are not part "
        "of the project here.",
        fg="yellow",
        err=True,
    )
