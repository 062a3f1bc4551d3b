"""One zip per lambda: its code, our runtime library where the handler needs it, and its
requirements vendored for the Lambda platform; content-addressed and checked against Lambda's
size limits.

Zips are reproducible (sorted entries, fixed timestamps and modes), so an unchanged function
keeps its key and CloudFormation leaves it alone. Requirements are installed with
`pip install --platform manylinux2014_<arch> --only-binary=:all: --python-version <runtime>
--target ...` and cached under `<out>/.vendor/` by what was asked, so a rebuild is offline.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import cirrostratus
from cirrostratus.aws.build import patterns
from cirrostratus.aws.build.functions import LambdaSpec
from cirrostratus.aws.build.model import BuildError, PackageTooLarge
from cirrostratus.project import Project

MB = 1024 * 1024
#: Lambda's limit for a zip package that, like ours, Lambda reads from S3 (Code.S3Bucket/S3Key):
#: 250 MB unzipped, function and layers together (Lambda's CodeSizeUnzipped, 262,144,000
#: bytes). The 50 MB zipped quota (CodeSizeZipped) binds only a zip uploaded directly through
#: the Lambda API or console, which deploy never does. Tests lower the limit.
LIMITS = {"unzipped": 250 * MB}
NEAR = 0.8  #: a package over this share of the limit is warned about
#: in the Lambda Python runtime already; vendoring them only costs size
PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".git"}
_EPOCH = (1980, 1, 1, 0, 0, 0)
VENDOR_FORMAT = "3"  # part of the cache key: bump when what a vendored folder holds changes
BUILTINS_LABEL = "_builtins"  # never a component's name: discovery skips folders starting with _


def requirements(project: Project, spec: LambdaSpec) -> list[str]:
    """What to vendor: for code that imports cirrostratus (the builtins, geo builtins) the
    library's own dependencies (and its `geo` extra for code using cirrostratus.geo); then
    `lambda.pythonRequirements.include`, cirrus.yml's `custom.pythonRequirements.include` and
    the folder's requirements.txt (Cirrus's union), sorted, de-duplicated."""
    found: set[str] = set()
    if spec.builtin:  # our handlers: the library and what Lambda provides (boto3)
        return runtime_requirements()
    if library_use(spec):
        found |= set(runtime_requirements()) | set(extra_requirements(spec))
    found |= set(spec.component.python_requirements)
    custom = project.config.get("custom")
    python = custom.get("pythonRequirements") if isinstance(custom, dict) else None
    include = python.get("include") if isinstance(python, dict) else None
    found |= {str(r) for r in include} if isinstance(include, list) else set()
    file = spec.component.directory / "requirements.txt"
    if file.is_file():
        for line in file.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                found.add(line)
    if "stactask" not in {_name(r) for r in found} and _imports_stactask(spec):
        found.add("stactask")  # `cirro create`'s templates import it without declaring it
    return sorted(r for r in found if _name(r) not in PROVIDED)


def _imports_stactask(spec: LambdaSpec) -> bool:
    return any(m.split(".")[0] == "stactask" for m in _imports(spec))


def _imports(spec: LambdaSpec) -> set[str]:
    """Every module the function's own code imports (`a.b`; `from a import b` gives `a`
    and `a.b`), read with ast: a file that does not parse imports nothing we can see."""
    found: set[str] = set()
    for _, path in _files(spec.component.directory):
        if path.suffix != ".py":
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def library_use(spec: LambdaSpec) -> bool:
    """Whether the function's zip needs the cirrostratus package (the builtins always do)."""
    return spec.builtin or any(m.split(".")[0] == "cirrostratus" for m in _imports(spec))


def _module_imports(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError):
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def extra_requirements(spec: LambdaSpec) -> list[str]:
    """The library's optional dependencies the function's code needs: those of the extras
    (rasterio, rio-cogeo, pystac-client, ...) that it imports itself, or that a
    cirrostratus.geo module it imports does (copying assets needs none, a COG rasterio)."""
    library = Path(cirrostratus.__file__).resolve().parent
    used = _imports(spec)
    for module in list(used):
        parts = module.split(".")
        if parts[0] == "cirrostratus" and len(parts) > 1:
            source = library.joinpath(*parts[1:]).with_suffix(".py")
            if source.is_file():
                used |= _module_imports(source)
    tops = {m.split(".")[0] for m in used}
    return sorted(r for r in optional_requirements() if _name(r).replace("-", "_") in tops)


def needs_geo_extra(spec: LambdaSpec) -> bool:
    """True when the code needs rasterio (itself or through a cirrostratus.geo module)."""
    return any(_name(r) == "rasterio" for r in extra_requirements(spec))


def optional_requirements() -> list[str]:
    """Every requirement of the library's extras (the import name is the distribution's)."""
    try:
        listed = metadata.requires("cirrostratus") or []
    except metadata.PackageNotFoundError:
        listed = []
    return sorted(
        {
            r.split(";")[0].strip()
            for r in listed
            if "extra ==" in r and not re.search(r"extra\s*==\s*[\"']dev[\"']", r)
        }
    )


def runtime_requirements(extras: tuple[str, ...] = ()) -> list[str]:
    """cirrostratus's own dependencies (and those of `extras`), minus what Lambda provides."""
    try:
        listed = metadata.requires("cirrostratus") or []
    except metadata.PackageNotFoundError:
        listed = []
    out: list[str] = []
    for requirement in listed:
        spec, _, marker = requirement.partition(";")
        extra = re.search(r"extra\s*==\s*[\"']([^\"']+)", marker)
        if (extra is None or extra.group(1) in extras) and _name(spec) not in PROVIDED:
            out.append(spec.strip())
    return sorted(set(out))


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9_.-]+)", requirement)
    return (match.group(1) if match else requirement).lower().replace("_", "-")


def vendor(reqs: list[str], *, architecture: str, python: str, cache: Path) -> Path | None:
    """A folder holding `reqs` installed for Lambda, reused when asked again."""
    if not reqs:
        return None
    platform = "manylinux2014_aarch64" if architecture == "arm64" else "manylinux2014_x86_64"
    version = python.removeprefix("python")
    digest = hashlib.sha256(
        "\n".join([VENDOR_FORMAT, platform, version, *reqs]).encode()
    ).hexdigest()[:16]
    target = cache / digest
    if (target / ".complete").is_file():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--platform", platform, "--only-binary=:all:",
        "--python-version", version, "--implementation", "cp",
        "--target", str(target), *reqs,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BuildError(
            f"pip could not install {', '.join(reqs)} for Lambda ({platform}, Python {version}): "
            f"{detail[-1] if detail else 'no output'}; check the names, that binary wheels exist "
            "for that platform, and the network (or PIP_FIND_LINKS for local wheels)"
        )
    _drop_provided(target)
    (target / ".complete").write_text("\n".join(reqs), encoding="utf-8")
    return target


def _drop_provided(target: Path) -> None:
    """Remove what the Lambda runtime already has (boto3, botocore, ...), which pip installs
    anyway as dependencies: botocore alone is ~100 MB unzipped (Cirrus's slimPatterns too)."""
    for info in sorted(target.glob("*.dist-info")):
        name = info.name.removesuffix(".dist-info").rsplit("-", 1)[0].lower().replace("_", "-")
        if name not in PROVIDED:
            continue
        record = info / "RECORD"
        tops = set()
        if record.is_file():
            for line in record.read_text(encoding="utf-8").splitlines():
                top = line.split(",", 1)[0].split("/", 1)[0]
                if top and not top.startswith(".."):
                    tops.add(top)
        for top in tops | {info.name}:
            path = target / top
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()


def _files(root: Path, prefix: str = "", skip: tuple[str, ...] = ()) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or _SKIP_PARTS & set(rel.parts) or path.suffix == ".pyc":
            continue
        if rel.as_posix() in skip or rel.parts[0] == ".complete":
            continue
        yield prefix + rel.as_posix(), path


def contents(
    spec: LambdaSpec,
    vendored: Path | None,
    *,
    slim: list[str] | None = None,
    rules: list[tuple[bool, str]] | None = None,
) -> dict[str, Path]:
    """Archive name → file. Code wins over a vendored file of the same name.

    Vendored requirements lose TRIM (tests, stubs, caches) and `slim` (the project's
    `slimPatterns`); the component's own files follow its `package` `rules`.
    """
    entries: dict[str, Path] = {}
    if vendored is not None:
        found = dict(_files(vendored))
        for name in patterns.drop(found, (*patterns.TRIM, *(slim or []))):
            del found[name]
        entries.update(found)
    if library_use(spec):
        library = Path(cirrostratus.__file__).resolve().parent
        entries.update(_files(library, "cirrostratus/"))
    if not spec.builtin:
        own = dict(_files(spec.component.directory, skip=("definition.yml",)))
        kept = patterns.apply_rules(own, rules or [])
        entries.update({name: path for name, path in own.items() if name in kept})
    return entries


def slim_patterns(project: Project, spec: LambdaSpec) -> list[str]:
    """cirrus.yml's `custom.pythonRequirements.slimPatterns` when `slim` is on, for the
    project's own components. Not for cirro's built-ins: the default cirrus.yml slims numpy and
    rasterio away (Cirrus expected them from a geolambda layer), which the geo built-ins carry
    in their own zip."""
    if spec.component.source == "built-in":
        return []
    custom = project.config.get("custom")
    python = custom.get("pythonRequirements") if isinstance(custom, dict) else None
    if not isinstance(python, dict) or not python.get("slim"):
        return []
    found = python.get("slimPatterns") or []
    if not isinstance(found, list) or not all(isinstance(p, str) for p in found):
        raise BuildError(
            "cirrus.yml: custom.pythonRequirements.slimPatterns must be a list of glob strings"
        )
    return list(found)


def _slimmed_away(reqs: list[str], vendored: Path, slim: list[str]) -> list[str]:
    """The requirements whose import folder `slim` removes entirely."""
    gone = []
    for req in reqs:
        top = _name(req).replace("-", "_")
        if (vendored / top).is_dir() and patterns.drop([f"{top}/__init__.py"], slim):
            gone.append(_name(req))
    return gone


def write_zip(entries: dict[str, Path], path: Path) -> tuple[bytes, int]:
    """A reproducible zip of `entries`; returns its bytes and the unzipped size."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(entries):
            source = entries[name]
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            mode = 0o755 if os.access(source, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = source.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data, unzipped


def check_limits(name: str, file: str, unzipped: int) -> None:
    """Lambda refuses a package over 250 MB unzipped; say so now, with the way out.

    The zipped size is not checked: the zip goes to S3, where Lambda's 50 MB direct-upload
    quota does not apply. Layers count towards the 250 MB too, but they are ARNs we cannot
    measure.
    """
    if unzipped > LIMITS["unzipped"]:
        raise PackageTooLarge(
            f"{file}: the lambda package of '{name}' is {unzipped / MB:.1f} MB unzipped, over "
            f"Lambda's {LIMITS['unzipped'] / MB:.0f} MB limit (function and layers); run it on "
            "AWS Batch instead (a batch: section, see `cirro create task -t batch`), or trim "
            "lambda.pythonRequirements"
        )


def package(
    project: Project,
    spec: LambdaSpec,
    *,
    stage: str,
    out: Path,
    runtime: str,
    vendor_requirements: bool,
    warnings: list[str] | None = None,
) -> tuple[str, Path]:
    """Build one zip; returns its S3 key and local path.

    The builtins share one zip (`builtins-<sha12>.zip`): the same library and handlers, so
    deploy uploads it once rather than seven times.
    """
    vendored = None
    reqs = requirements(project, spec)
    file = project.display(spec.component.definition_file)
    if vendor_requirements:
        vendored = vendor(
            reqs, architecture=spec.architecture, python=runtime, cache=out / ".vendor"
        )
    slim = slim_patterns(project, spec)
    if vendored is not None and slim and not spec.component.lambda_config.get("layers"):
        gone = _slimmed_away(reqs, vendored, slim)
        if gone and warnings is not None:
            warnings.append(
                f"{file}: custom.pythonRequirements.slimPatterns remove {', '.join(gone)}, which "
                f"'{spec.name}' requires, and it has no lambda.layers to provide them; drop "
                "those patterns or add the layer"
            )
    rules = patterns.package_rules(spec.component.lambda_config, file, spec.name)
    folder = out / "packages"
    label = BUILTINS_LABEL if spec.builtin else spec.name
    scratch = folder / f".{label}.zip.tmp"
    data, unzipped = write_zip(contents(spec, vendored, slim=slim, rules=rules), scratch)
    try:
        check_limits(spec.name, file, unzipped)
    except PackageTooLarge:
        scratch.unlink(missing_ok=True)
        raise
    if unzipped > NEAR * LIMITS["unzipped"] and warnings is not None:
        warnings.append(
            f"{file}: the lambda package of '{spec.name}' is {unzipped / MB:.1f} MB unzipped, "
            f"within {100 - NEAR * 100:.0f}% of Lambda's {LIMITS['unzipped'] / MB:.0f} MB "
            "(function and layers): a layer or a new requirement can tip it over"
        )
    digest = hashlib.sha256(data).hexdigest()[:12]
    final = folder / f"{label}-{digest}.zip"
    for stale in folder.glob(f"{label}-*.zip"):
        if stale != final and re.fullmatch(rf"{re.escape(label)}-[0-9a-f]{{12}}\.zip", stale.name):
            stale.unlink()
    scratch.replace(final)
    return f"cirro/{stage}/{label}-{digest}.zip", final
