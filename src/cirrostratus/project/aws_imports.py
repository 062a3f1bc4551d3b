"""Which components call AWS themselves: their Python files import boto3 or cirrus-lib.

Such code (Cirrus 0.9's builtins, tasks written with cirrus-lib, any task using boto3) talks
to S3, DynamoDB, SNS, SQS or Secrets Manager on its own, outside the stores cirro gives it,
so it works here only when those calls reach a real or emulated AWS. `cirro validate` says
so per component, naming the file and line of the import, before a run fails on it.

The files are read with `ast`, never imported: validating must not run a task's code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Imports that mean "this code calls AWS": boto3/botocore directly, or through cirrus-lib
# (`cirrus.lib`, its 0.9 vendored copy `cirrus.lib2`, and the older `cirruslib` name).
AWS_MODULES = ("boto3", "botocore", "cirrus.lib", "cirrus.lib2", "cirruslib")

# Folders never scanned: caches, environments, and a vendored `cirrus` package (Cirrus's
# build copies `cirrus/lib2` into a lambda's folder; the task's own import of it is found).
_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "cirrus", "venv", "env"}
_MAX_FILES = 200
_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class AwsImport:
    """One import of an AWS module: which module, in which file, on which line."""

    module: str
    file: Path
    line: int


def aws_imports(directory: Path) -> list[AwsImport]:
    """The first import of each AWS module in the component's .py files, in file order."""
    found: dict[str, AwsImport] = {}
    for path in _python_files(directory):
        for module, line in _imports(path):
            top = _aws_module(module)
            if top is not None and top not in found:
                found[top] = AwsImport(top, path, line)
    return list(found.values())


def _python_files(directory: Path) -> Iterator[Path]:
    count = 0
    stack = [directory]
    while stack and count < _MAX_FILES:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            if entry.is_symlink():
                continue  # never follow a link out of the component's folder
            if entry.is_dir():
                if not entry.name.startswith(".") and entry.name not in _SKIP_DIRS:
                    subdirs.append(entry)
            elif entry.suffix == ".py" and count < _MAX_FILES:
                count += 1
                yield entry
        stack.extend(reversed(subdirs))


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """Every absolute module an import statement in `path` names, with its line."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            return
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return  # unreadable or not Python 3: running it will say so
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, node.lineno
            for alias in node.names:  # `from cirrus import lib2`
                yield f"{node.module}.{alias.name}", node.lineno


def _aws_module(module: str) -> str | None:
    """The AWS module `module` is or lies in (`cirrus.lib2.utils` → `cirrus.lib2`), or None."""
    best = None
    for name in AWS_MODULES:
        if (module == name or module.startswith(name + ".")) and (
            best is None or len(name) > len(best)
        ):
            best = name
    return best
