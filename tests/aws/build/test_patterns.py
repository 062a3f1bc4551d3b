"""What goes into a zip: the 250 MB unzipped limit, `package` patterns, `slimPatterns` and the
trimming of vendored requirements."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from cirrostratus.aws.build import BuildError, BuildResult, build_project
from cirrostratus.aws.build import package as packaging
from cirrostratus.aws.build.patterns import apply_rules, matches, package_rules
from cirrostratus.project import Project

MB = 1024 * 1024


def _names(result: BuildResult, function_id: str) -> list[str]:
    key = result.template["Resources"][function_id]["Properties"]["Code"]["S3Key"]
    return zipfile.ZipFile(result.packages[key]).namelist()


def _project(
    tmp_path: Path, definition: str, cirrus: str = "", files: dict[str, bytes] | None = None
) -> Project:
    root = tmp_path / "proj"
    folder = root / "tasks" / "t"
    folder.mkdir(parents=True)
    (root / "cirrus.yml").write_text("service: s\nprovider: {environment: {}}\n" + cirrus)
    (folder / "definition.yml").write_text(
        "lambda:\n  handler: lambda_function.lambda_handler\n" + definition
    )
    (folder / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return e\n")
    for name, data in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    empty = tmp_path / "no-builtins"
    empty.mkdir()
    return Project.load(root, builtins_root=empty)


def test_the_limit_is_250_mb_unzipped_and_nothing_zipped() -> None:
    assert packaging.LIMITS == {"unzipped": 250 * MB}
    packaging.check_limits("t", "tasks/t/definition.yml", 250 * MB)  # at the limit: fine
    with pytest.raises(BuildError, match=r"250\.0 MB unzipped, over Lambda's 250 MB limit"):
        packaging.check_limits("t", "tasks/t/definition.yml", 250 * MB + 1)


def test_the_unzipped_size_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package exactly at the (lowered) unzipped limit builds however big its zip; one byte
    over fails, naming the file and Batch."""
    noise = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(2048))  # 64 KiB
    project = _project(tmp_path, "", files={"data.bin": noise})
    first = build_project(project, out=tmp_path / "a", vendor=False)
    [zipped] = first.packages.values()
    with zipfile.ZipFile(zipped) as archive:
        unzipped = sum(i.file_size for i in archive.infolist())
    assert zipped.stat().st_size > unzipped // 2  # the zip is not small: only unzipped counts
    monkeypatch.setitem(packaging.LIMITS, "unzipped", unzipped)
    near = build_project(project, out=tmp_path / "b", vendor=False)
    assert [w for w in near.warnings if "within 20% of Lambda's" in w and "'t'" in w]
    assert not [w for w in first.warnings if "within 20%" in w]  # far below the real limit
    monkeypatch.setitem(packaging.LIMITS, "unzipped", unzipped - 1)
    with pytest.raises(BuildError) as caught:
        build_project(project, out=tmp_path / "c", vendor=False)
    assert "tasks/t/definition.yml" in str(caught.value) and "AWS Batch" in str(caught.value)


def test_globs_follow_serverless() -> None:
    assert matches("numpy/**", "numpy/core/x.py")
    assert not matches("numpy/**", "numpyx/a.py")
    assert matches("dateutils*", "dateutils/parser.py")  # a folder's name takes its files
    assert matches("six.py", "six.py") and not matches("six.py", "pkg/six.py")
    assert matches("**/*.py[c|o]", "a/b/c.pyc")
    assert matches("./fixtures/*.json", "fixtures/a.json")
    assert not matches("fixtures/*.json", "fixtures/deep/a.json")
    assert matches("*/**/tests/**", "numpy/_core/tests/test_a.py")
    assert not matches("*/**/tests/**", "tests/test_mine.py")


def test_package_patterns_apply_in_order() -> None:
    rules = package_rules(
        {"package": {"patterns": ["!fixtures/**", "fixtures/keep.json", "!**/*.md"]}},
        "tasks/t/definition.yml",
        "t",
    )
    names = ["a.py", "README.md", "fixtures/big.tif", "fixtures/keep.json", "docs/x.md"]
    assert apply_rules(names, rules) == {"a.py", "fixtures/keep.json"}
    legacy = package_rules(
        {"package": {"exclude": ["./lambdas/t/fixtures/**"], "include": ["fixtures/k*"]}},
        "f",
        "t",
    )
    assert apply_rules(names, legacy) == {"a.py", "README.md", "fixtures/keep.json", "docs/x.md"}


def test_package_errors_name_the_field() -> None:
    with pytest.raises(BuildError, match=r"tasks/t/definition\.yml: lambda\.package\.patterns"):
        package_rules({"package": {"patterns": "!x"}}, "tasks/t/definition.yml", "t")
    with pytest.raises(BuildError, match=r"lambda\.package\.artifact"):
        package_rules({"package": {"artifact": "x.zip"}}, "f", "t")


def test_package_patterns_shape_the_zip(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        "  package:\n    patterns: ['!fixtures/**', 'fixtures/keep.json']\n",
        files={"fixtures/big.tif": b"\0" * 1000, "fixtures/keep.json": b"{}", "util.py": b""},
    )
    result = build_project(project, out=tmp_path / "out", vendor=False)
    names = _names(result, "TLambdaFunction")
    assert sorted(names) == ["fixtures/keep.json", "lambda_function.py", "util.py"]
    assert not [w for w in result.warnings if "lambda.package" in w]  # used, so not reported


def _wheel(folder: Path, name: str, files: dict[str, bytes]) -> None:
    """A pure-Python wheel written by hand (no build backend, no network)."""
    dist = f"{name}-1.0.dist-info"
    files = {
        **files,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{dist}/LICENSE": b"MIT\n",
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}"
        for p, d in files.items()
    ]
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)


def test_vendored_requirements_are_trimmed_and_slimmed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(
        wheels,
        "tinydep",
        {
            "tinydep/__init__.py": b"VALUE = 1\n",
            "tinydep/__init__.pyi": b"VALUE: int\n",
            "tinydep/tests/test_it.py": b"assert True\n",
            "tinydep/data/huge.bin": b"\0" * 100,
        },
    )
    _wheel(wheels, "slimmed", {"slimmed/__init__.py": b""})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    cirrus = (
        "custom:\n  pythonRequirements:\n    slim: true\n"
        "    slimPatterns: ['tinydep/data/**', 'slimmed/**', 'slimmed-*/**']\n"
    )
    project = _project(
        tmp_path, "  pythonRequirements: {include: [tinydep==1.0, slimmed==1.0]}\n", cirrus
    )
    result = build_project(project, out=tmp_path / "out")
    names = set(_names(result, "TLambdaFunction"))
    assert {"tinydep/__init__.py", "tinydep-1.0.dist-info/LICENSE", "lambda_function.py"} <= names
    assert not names & {"tinydep/__init__.pyi", "tinydep/tests/test_it.py", "tinydep/data/huge.bin"}
    assert not [n for n in names if n.startswith("slimmed")]
    [warning] = [w for w in result.warnings if "slimPatterns" in w]
    assert "slimmed" in warning and "tinydep" not in warning and "lambda.layers" in warning


def test_slim_off_keeps_what_slim_patterns_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "tinydep", {"tinydep/__init__.py": b"", "tinydep/data/x.bin": b"1"})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    cirrus = "custom:\n  pythonRequirements:\n    slim: false\n    slimPatterns: ['tinydep/**']\n"
    project = _project(tmp_path, "  pythonRequirements: {include: [tinydep==1.0]}\n", cirrus)
    names = _names(build_project(project, out=tmp_path / "out"), "TLambdaFunction")
    assert "tinydep/data/x.bin" in names
