"""`cirro clean`: remove what was built or kept for a project, and nothing else.

Cirrus's `cirrus clean` empties `.cirrus/build/` (what `cirrus build` wrote); `cirro clean`
does the same, since the folder is the same project's, and removes `.cirro/build/`, what
`cirro build` wrote (templates, zips, vendored requirements). With `--local-state` it also removes
`.cirro/`, everything cirro keeps for the project (state, intake, stored payloads, published
data, logs), after a confirmation or `--yes`, and never while an engine holds the project's
`.cirro/engine.lock`: the lock is held while deleting, so no engine can start halfway.

Conservative by construction: only those two folders of the project are touched; a folder
that is a symlink, or that resolves outside the project, is refused, and links inside are
unlinked, never followed. CIRRO_HOME and CIRRUS_*_BUCKET folders elsewhere are left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

import click

from cirrostratus.cli.errors import CliError
from cirrostratus.cli.show import project_root

BUILD_DIR = Path(".cirrus") / "build"
CIRRO_BUILD_DIR = Path(".cirro") / "build"  # cirro build's output
STATE_DIR = ".cirro"


@click.command()
@click.option(
    "--local-state",
    is_flag=True,
    help="Also remove .cirro/: state, queued and stored payloads, published data, logs.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing .cirro/.")
@click.pass_context
def clean(ctx: click.Context, local_state: bool, yes: bool) -> None:
    """Empty Cirrus's .cirrus/build/, remove cirro build's .cirro/build/ and, with
    --local-state, all of .cirro/."""
    root = project_root(ctx, required=True)
    assert root is not None
    root = root.resolve()
    # every check and the question first: a refused or declined clean removes nothing
    state = _local_state(root, yes) if local_state else None
    removed = _empty_build_dir(root)
    if removed:
        click.echo(
            f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {root / BUILD_DIR}"
        )
    else:
        click.echo(f"{root / BUILD_DIR}: nothing to remove")
    if state is None:  # --local-state removes .cirro/ whole, cirro build's output with it
        _remove_cirro_build(root)
    if state is not None:
        _remove_local_state(state)
    elif local_state:
        click.echo(f"{root / STATE_DIR}: nothing to remove")
    _note_elsewhere(root)


def _inside(path: Path, root: Path) -> Path:
    """`path`, checked to be a real folder (not a link) that resolves inside the project."""
    if path.is_symlink():
        raise CliError(
            f"{path} is a symbolic link: not removing what it points to; remove it yourself"
        )
    resolved = path.resolve()
    if resolved == root or root not in resolved.parents:
        raise CliError(f"{path} resolves to {resolved}, outside the project {root}: not touched")
    return resolved


def _empty_build_dir(root: Path) -> int:
    """Cirrus's clean: every entry of .cirrus/build/ goes; the folder itself stays."""
    build = root / BUILD_DIR
    if not build.parent.exists() and not build.parent.is_symlink():
        return 0
    _inside(build.parent, root)
    if not build.exists() and not build.is_symlink():
        return 0
    build = _inside(build, root)
    count = 0
    for entry in sorted(build.iterdir()):
        _remove(entry)
        count += 1
    return count


def _remove_cirro_build(root: Path) -> None:
    """`cirro build`'s output (.cirro/build/: templates, zips, the vendored requirements)."""
    build = root / CIRRO_BUILD_DIR
    if not build.exists() and not build.is_symlink():
        return
    _inside(build.parent, root)
    build = _inside(build, root)
    try:
        shutil.rmtree(build)
    except OSError as exc:
        raise CliError(f"could not remove all of {build}: {exc}") from None
    click.echo(f"removed {build} (cirro build's output)")


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)  # rmtree unlinks links inside, never follows them
    else:
        entry.unlink()


def _interactive() -> bool:
    return sys.stdin.isatty()


def _local_state(root: Path, yes: bool) -> Path | None:
    """The project's .cirro/ to remove, once checked and confirmed; None when there is none."""
    from cirrostratus.engine.lock import EngineLock

    state = root / STATE_DIR
    if not state.exists() and not state.is_symlink():
        return None
    state = _inside(state, root)
    holder = EngineLock(state / "engine.lock").holder()
    if holder is not None:
        raise CliError(_busy(holder, state))
    if not yes:
        if not _interactive():
            raise CliError(f"removing {state} needs a confirmation: add --yes", 2)
        click.confirm(
            f"Remove {state} ({_size(state)}): this project's local state, queued and stored "
            "payloads, published data and logs?",
            abort=True,
        )
    return state


def _remove_local_state(state: Path) -> None:
    from cirrostratus.engine.lock import EngineBusy, EngineLock

    try:
        with EngineLock(state / "engine.lock").hold():
            # Held while deleting, so no engine starts on a half-removed folder. The lock
            # file goes too: an engine starting now creates a new one (on a new inode).
            shutil.rmtree(state)
    except EngineBusy as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"could not remove all of {state}: {exc}") from None
    click.echo(f"removed {state}")


def _busy(holder: str, state: Path) -> str:
    return (
        f"a cirro engine (pid {holder}) is running this project ({state}): stop it before "
        "removing its local state"
    )


def _size(folder: Path) -> str:
    files = total = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            files += 1
            with contextlib.suppress(OSError):  # a file removed meanwhile
                total += (Path(dirpath) / name).lstat().st_size
    return f"{files} file{'s' if files != 1 else ''}, {total / 1e6:.1f} MB"


def _note_elsewhere(root: Path) -> None:
    """Say which of the project's places `clean` does not touch because they are elsewhere."""
    notes = []
    home = os.environ.get("CIRRO_HOME")
    if home and Path(home).resolve() != (root / STATE_DIR).resolve():
        notes.append(f"CIRRO_HOME ({home})")
    for var in ("CIRRUS_DATA_BUCKET", "CIRRUS_PAYLOAD_BUCKET"):
        if os.environ.get(var):
            notes.append(f"{var} ({os.environ[var]})")
    if notes:
        click.secho(f"not touched (set outside .cirro/): {', '.join(notes)}", fg="yellow", err=True)
