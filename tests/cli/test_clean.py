"""`cirro clean`: Cirrus's build output, and with --local-state .cirro/; nothing else, ever."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cirrostratus.cli import cli
from cirrostratus.cli.errors import CliError
from cirrostratus.engine.lock import EngineLock


def clean(project: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--project", str(project), "clean", *args], input=input)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("CIRRO_HOME", "CIRRUS_DATA_BUCKET", "CIRRUS_PAYLOAD_BUCKET"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "proj"
    (root / ".cirrus" / "build" / "lambdas" / "x").mkdir(parents=True)
    (root / "cirrus.yml").write_text("service: proj\n")
    (root / ".cirrus" / "build" / "serverless.yml").write_text("service: proj\n")
    (root / ".cirro" / "data" / "c").mkdir(parents=True)
    (root / ".cirro" / "state.db").write_bytes(b"x")
    (root / ".cirro" / "data" / "c" / "item.json").write_text("{}")
    (root / "tasks").mkdir()
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    return folder


def test_empties_the_build_folder_and_keeps_everything_else(project: Path, outside: Path) -> None:
    (project / ".cirrus" / "build" / "link").symlink_to(outside, target_is_directory=True)
    (project / ".cirrus" / "build" / "lambdas" / "x" / "inner").symlink_to(outside)
    result = clean(project)
    assert result.exit_code == 0, result.output
    assert "removed 3 entries" in result.output
    build = project / ".cirrus" / "build"
    assert build.is_dir() and list(build.iterdir()) == []  # emptied, as Cirrus's clean does
    assert (outside / "keep.txt").read_text() == "keep"  # links were unlinked, not followed
    assert (project / ".cirro" / "state.db").exists()  # no --local-state: untouched
    assert (project / "cirrus.yml").exists() and (project / "tasks").is_dir()


def test_local_state_with_yes_removes_cirro(project: Path) -> None:
    result = clean(project, "--local-state", "--yes")
    assert result.exit_code == 0, result.output
    assert not (project / ".cirro").exists()
    assert f"removed {project / '.cirro'}" in result.output
    assert (project / "cirrus.yml").exists()


def test_local_state_without_a_terminal_needs_yes_and_removes_nothing(project: Path) -> None:
    result = clean(project, "--local-state")
    assert isinstance(result.exception, CliError) and result.exception.exit_code == 2  # usage
    assert "add --yes" in str(result.exception)
    assert (project / ".cirro" / "state.db").exists()
    assert (project / ".cirrus" / "build" / "serverless.yml").exists()  # checks come first


@pytest.mark.parametrize(("answer", "removed"), [("n\n", False), ("y\n", True)])
def test_local_state_asks_first(
    project: Path, monkeypatch: pytest.MonkeyPatch, answer: str, removed: bool
) -> None:
    from cirrostratus.cli import clean as clean_module

    monkeypatch.setattr(clean_module, "_interactive", lambda: True)
    result = clean(project, "--local-state", input=answer)
    assert "Remove " in result.output and "published data" in result.output
    assert (project / ".cirro").exists() is not removed
    assert (result.exit_code == 0) is removed


def test_refuses_while_an_engine_holds_the_lock(project: Path) -> None:
    with EngineLock(project / ".cirro" / "engine.lock").hold():
        result = clean(project, "--local-state", "--yes")
    assert result.exit_code == 1
    assert "is running this project" in str(result.exception or result.output)
    assert (project / ".cirro" / "state.db").exists()


def test_a_linked_state_folder_is_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "linked"
    root.mkdir()
    (root / "cirrus.yml").write_text("service: linked\n")
    (root / ".cirro").symlink_to(outside, target_is_directory=True)
    result = clean(root, "--local-state", "--yes")
    assert result.exit_code == 1
    assert "symbolic link" in str(result.exception or result.output)
    assert (outside / "keep.txt").exists()


def test_a_build_folder_linked_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "linkedbuild"
    (root / ".cirrus").mkdir(parents=True)
    (root / "cirrus.yml").write_text("service: linkedbuild\n")
    (root / ".cirrus" / "build").symlink_to(outside, target_is_directory=True)
    result = clean(root)
    assert result.exit_code == 1
    assert (outside / "keep.txt").exists()


def test_nothing_to_clean_and_outside_a_project(tmp_path: Path) -> None:
    root = tmp_path / "bare"
    root.mkdir()
    (root / "cirrus.yml").write_text("service: bare\n")
    result = clean(root, "--local-state", "--yes")
    assert result.exit_code == 0, result.output
    assert "nothing to remove" in result.output
    other = tmp_path / "empty"
    other.mkdir()
    assert clean(other).exit_code == 1
