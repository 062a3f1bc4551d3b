from __future__ import annotations

from pathlib import Path

import pytest

from cirrostratus.project import ProjectNotFound, find_project


def test_walks_up_to_cirrus_yml(tmp_path: Path) -> None:
    (tmp_path / "cirrus.yml").write_text("service: x\n")
    deep = tmp_path / "tasks" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project(start=deep) == tmp_path.resolve()


def test_explicit_directory_wins(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "cirrus.yml").write_text("service: x\n")
    assert find_project(start=Path("/"), explicit=str(project)) == project.resolve()


def test_explicit_directory_without_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound, match=r"no cirrus\.yml.*cirro init"):
        find_project(explicit=str(tmp_path))


def test_missing_explicit_directory(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound, match="does not exist"):
        find_project(explicit=str(tmp_path / "nope"))


def test_no_project_anywhere(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound, match="no Cirrus project found"):
        find_project(start=tmp_path)
