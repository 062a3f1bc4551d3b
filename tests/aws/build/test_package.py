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
from cirrostratus.aws.build.functions import LambdaSpec, lambda_specs
from cirrostratus.project import Project

Build = Callable[..., BuildResult]


def zip_for(result: BuildResult, function_id: str) -> zipfile.ZipFile:
    """The zip a function's Code.S3Key names."""
    key = result.template["Resources"][function_id]["Properties"]["Code"]["S3Key"]
    return zipfile.ZipFile(result.packages[key])


def test_builtin_zip_carries_the_runtime_library(full_build: BuildResult) -> None:
    names = zip_for(full_build, "ProcessLambdaFunction").namelist()
    assert "cirrostratus/aws/handlers/process.py" in names
    assert "cirrostratus/state/dynamodb.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # one zip for every builtin: deploy uploads the library once
    keys = {
        body["Properties"]["Code"]["S3Key"]
        for body in full_build.template["Resources"].values()
        if body["Type"] == "AWS::Lambda::Function"
        and body["Properties"]["Handler"].startswith("cirrostratus.aws.handlers.")
    }
    assert len(keys) == 1 and next(iter(keys)).startswith("cirro/dev/_builtins-")


def test_user_zip_is_its_folder(full_build: BuildResult) -> None:
    names = zip_for(full_build, "LamDashtaskLambdaFunction").namelist()
    assert "lambda_function.py" in names
    assert "definition.yml" not in names
    assert not [n for n in names if n.startswith("cirrostratus/")]
    handler = full_build.template["Resources"]["LamDashtaskLambdaFunction"]["Properties"]["Handler"]
    assert handler == "lambda_function.lambda_handler"


def test_zips_are_reproducible(full_project: Path, full_build: BuildResult, tmp_path: Path) -> None:
    again = build_project(Project.load(full_project), out=tmp_path, vendor=False)
    # the builtins' zip is the library's source, which may change while the session runs
    ours = ("lam-task", "both_task", "my-fn", "my-feed")  # code that does not import it
    mine = {k for k in full_build.packages if k.split("/")[-1].rsplit("-", 1)[0] in ours}
    assert len(mine) == 4 and mine <= set(again.packages)
    for key in mine:
        data = again.packages[key].read_bytes()
        assert data == full_build.packages[key].read_bytes()
        assert key.endswith(f"-{hashlib.sha256(data).hexdigest()[:12]}.zip")


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
    names = zip_for(result, "TLambdaFunction").namelist()
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


def _component(tmp_path: Path, code: str) -> LambdaSpec:
    folder = tmp_path / "tasks" / "t"
    folder.mkdir(parents=True)
    (folder / "definition.yml").write_text("lambda: {handler: lambda_function.handler}\n")
    (folder / "lambda_function.py").write_text(code)
    root = tmp_path
    (root / "cirrus.yml").write_text("service: s\nprovider: {environment: {}}\n")
    empty = tmp_path / "no-builtins"
    empty.mkdir()
    project = Project.load(root, builtins_root=empty)
    [spec] = lambda_specs(project)
    return spec


def test_library_and_its_geo_extra_only_when_imported(tmp_path: Path) -> None:
    plain = _component(tmp_path / "a", "import json\n")
    assert not packaging.library_use(plain)
    assets = _component(
        tmp_path / "b", "from cirrostratus.geo import assets as a\nimport stactask\n"
    )
    assert packaging.library_use(assets) and not packaging.needs_geo_extra(assets)
    cog = _component(
        tmp_path / "c", "from cirrostratus.geo import assets\nfrom cirrostratus.geo import cog\n"
    )
    assert packaging.needs_geo_extra(cog)
    project = Project.load(tmp_path / "c", builtins_root=tmp_path / "c" / "no-builtins")
    names = {packaging._name(r) for r in packaging.requirements(project, cog)}
    assert {"rasterio", "rio-cogeo", "orjson", "stactask"} <= names
    assert not names & packaging.PROVIDED  # boto3 and friends come with the runtime
    client = _component(tmp_path / "d", "from cirrostratus import storage\nimport pystac_client\n")
    assert packaging.extra_requirements(client) == ["pystac-client>=0.7"]
    assert not packaging.needs_geo_extra(client)


def test_provided_distributions_are_dropped(tmp_path: Path) -> None:
    for dist, top in (("botocore-1.0", "botocore"), ("keepme-2.0", "keepme")):
        info = tmp_path / f"{dist}.dist-info"
        info.mkdir()
        (tmp_path / top).mkdir()
        (tmp_path / top / "__init__.py").write_text("")
        (info / "RECORD").write_text(f"{top}/__init__.py,,\n{dist}.dist-info/RECORD,,\n")
    packaging._drop_provided(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keepme", "keepme-2.0.dist-info"]


def test_builtin_too_big_is_left_out_unless_the_project_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builtins = tmp_path / "builtins"
    (builtins / "tasks" / "big").mkdir(parents=True)
    (builtins / "tasks" / "big" / "definition.yml").write_text(
        "lambda: {handler: lambda_function.handler}\n"
    )
    (builtins / "tasks" / "big" / "lambda_function.py").write_text("x = 1\n" * 1000)
    uses_big = (
        "definition:\n  StartAt: a\n  States:\n"
        "    a: {Type: Task, Resource: !GetAtt big.Arn, End: true}\n"
    )
    (builtins / "workflows" / "uses-big").mkdir(parents=True)
    (builtins / "workflows" / "uses-big" / "definition.yml").write_text(uses_big)
    root = tmp_path / "proj"
    root.mkdir()
    (root / "cirrus.yml").write_text("service: s\nprovider: {environment: {}}\n")
    monkeypatch.setitem(packaging.LIMITS, "unzipped", 5000)
    result = build_project(
        Project.load(root, builtins_root=builtins), out=tmp_path / "out", vendor=False
    )
    assert "BigLambdaFunction" not in result.template["Resources"]
    assert "UsesDashbigStepFunctionsStateMachine" not in result.template["Resources"]
    assert any("left out" in w and "'big'" in w for w in result.warnings)
    assert any("built-in workflow uses-big left out" in w for w in result.warnings)
    (root / "workflows" / "mine").mkdir(parents=True)
    (root / "workflows" / "mine" / "definition.yml").write_text(uses_big)
    with pytest.raises(BuildError, match=r"'big' is .* over Lambda's"):
        build_project(
            Project.load(root, builtins_root=builtins), out=tmp_path / "out", vendor=False
        )
