"""Lambda zips: contents, reproducible keys, Lambda's size limits, vendored requirements."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from cirrostratus.aws.build import BuildError, BuildResult, build_project
from cirrostratus.aws.build import package as packaging
from cirrostratus.project import Project

Build = Callable[..., BuildResult]


def zip_for(result: BuildResult, name: str) -> zipfile.ZipFile:
    [path] = [
        p for k, p in result.packages.items() if k.rsplit("/", 1)[1].rsplit("-", 1)[0] == name
    ]
    return zipfile.ZipFile(path)


def test_builtin_zip_carries_the_runtime_library(full_build: BuildResult) -> None:
    names = zip_for(full_build, "process").namelist()
    assert "cirrostratus/aws/handlers/process.py" in names
    assert "cirrostratus/state/dynamodb.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_user_zip_is_its_folder(full_build: BuildResult) -> None:
    names = zip_for(full_build, "lam-task").namelist()
    assert "lambda_function.py" in names
    assert "definition.yml" not in names
    assert not [n for n in names if n.startswith("cirrostratus/")]
    handler = full_build.template["Resources"]["LamDashtaskLambdaFunction"]["Properties"]["Handler"]
    assert handler == "lambda_function.lambda_handler"


def test_zips_are_reproducible(full_project: Path, full_build: BuildResult, tmp_path: Path) -> None:
    again = build_project(Project.load(full_project), out=tmp_path, vendor=False)
    assert set(again.packages) == set(full_build.packages)
    for key, path in again.packages.items():
        assert path.read_bytes() == full_build.packages[key].read_bytes()
        assert key.endswith(f"-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}.zip")


def test_zip_over_lambda_limit_suggests_batch(
    full_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(packaging.LIMITS, "unzipped", 1000)  # bytes: every package is bigger
    with pytest.raises(BuildError) as caught:
        build_project(Project.load(full_project), out=tmp_path, vendor=False)
    message = str(caught.value)
    assert "unzipped, over Lambda's" in message
    assert "AWS Batch" in message and "definition.yml" in message


def _wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel, written by hand (no build backend, no network)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def test_requirements_vendored_for_lambda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "tinydep", "1.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    root = tmp_path / "proj"
    (root / "tasks" / "t").mkdir(parents=True)
    (root / "cirrus.yml").write_text("service: s\nprovider: {environment: {}}\n")
    (root / "tasks" / "t" / "definition.yml").write_text(
        "description: t\nlambda:\n  handler: lambda_function.lambda_handler\n"
        "  architecture: arm64\n  pythonRequirements: {include: ['tinydep==1.0']}\n"
    )
    (root / "tasks" / "t" / "lambda_function.py").write_text("import tinydep\n")
    empty = tmp_path / "no-builtins"
    empty.mkdir()
    project = Project.load(root, builtins_root=empty)
    result = build_project(project, out=tmp_path / "out")
    names = zip_for(result, "t").namelist()
    assert "tinydep/__init__.py" in names and "lambda_function.py" in names
    props = result.template["Resources"]["TLambdaFunction"]["Properties"]
    assert props["Architectures"] == ["arm64"]
    # a second build reuses the vendored folder (offline even without the wheel)
    (wheels / "tinydep-1.0-py3-none-any.whl").unlink()
    assert set(build_project(project, out=tmp_path / "out").packages) == set(result.packages)


def test_missing_requirement_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    root = tmp_path / "proj"
    (root / "tasks" / "t").mkdir(parents=True)
    (root / "cirrus.yml").write_text("service: s\nprovider: {environment: {}}\n")
    (root / "tasks" / "t" / "definition.yml").write_text(
        "lambda:\n  handler: lambda_function.lambda_handler\n"
        "  pythonRequirements: {include: ['no-such-dist==9']}\n"
    )
    (root / "tasks" / "t" / "lambda_function.py").write_text("")
    empty = tmp_path / "no-builtins"
    empty.mkdir()
    with pytest.raises(
        BuildError, match=r"pip could not install no-such-dist==9 .*manylinux2014_x86_64"
    ):
        build_project(Project.load(root, builtins_root=empty), out=tmp_path / "out")
