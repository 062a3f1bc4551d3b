"""What goes into a zip: Serverless's `package` patterns, serverless-python-requirements'
`slimPatterns`, and our own trimming of vendored requirements.

Globs follow Serverless's (globby) rules closely enough for what projects write: `*` and `?`
stay inside one path segment, `**` spans segments, a pattern naming a folder (`numpy/**`,
`dateutils*`) takes everything under it, and a leading `./` is ignored. `package.patterns`
are applied in order, `!glob` removing and `glob` putting back, as Serverless does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from cirrostratus.aws.build.model import BuildError

#: never needed at run time in Lambda: caches, type stubs, Cython sources, a package's own
#: test suite (a top-level `tests` folder is left alone). Licences and *.dist-info stay:
#: importlib.metadata reads them, and a licence must travel with the code it covers.
TRIM = (
    "**/__pycache__/**",
    "**/*.pyc",
    "**/*.pyo",
    "**/*.pyi",
    "**/*.pyx",
    "**/*.pxd",
    "*/**/tests/**",
)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    """`pattern` as a regex over a POSIX relative path."""
    pattern = pattern.strip().removeprefix("./").rstrip("/")
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i)
            if end == -1:
                out += re.escape("[")
                i += 1
            else:  # a character class; `[c|o]` (slim's own default) keeps working
                out += "[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]"
                i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def matches(pattern: str, path: str) -> bool:
    """True when `path` or one of the folders it is in matches `pattern`."""
    regex = _regex(pattern)
    parts = path.split("/")
    return any(regex.match("/".join(parts[:n])) for n in range(len(parts), 0, -1))


def drop(names: Iterable[str], patterns: Iterable[str]) -> set[str]:
    """The names any of `patterns` matches."""
    wanted = [p for p in patterns if p.strip()]
    return {n for n in names if any(matches(p, n) for p in wanted)}


def package_rules(lam: dict[str, Any], file: str, name: str) -> list[tuple[bool, str]]:
    """A function's `package` section as ordered (keep, glob) rules over its folder.

    Serverless 3's `patterns` (`!glob` excludes, `glob` re-includes, in order), and the older
    `exclude` then `include` lists. Cirrus's build put code under `lambdas/<name>/`, so that
    prefix is taken off. `artifact` (a prebuilt zip) is refused rather than ignored.
    """
    package = lam.get("package")
    if package is None:
        return []
    if not isinstance(package, dict):
        raise BuildError(f"{file}: lambda.package must be a mapping (patterns: [globs])")
    if "artifact" in package:
        raise BuildError(
            f"{file}: lambda.package.artifact (a prebuilt zip) is not supported; cirro build "
            "packages the component's folder: remove it, and use lambda.package.patterns"
        )
    rules: list[tuple[bool, str]] = []
    for key, keep in (("exclude", False), ("include", True), ("patterns", None)):
        value = package.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BuildError(f"{file}: lambda.package.{key} must be a list of glob strings")
        for glob in value:
            negated = glob.startswith("!")
            glob = glob[1:] if negated else glob
            glob = _strip_prefix(glob.removeprefix("./"), name)
            rules.append((not negated if keep is None else keep, glob))
    return rules


def _strip_prefix(glob: str, name: str) -> str:
    for prefix in (f"lambdas/{name}/", f"lambdas/{name}"):
        if glob.startswith(prefix):
            return glob[len(prefix) :] or "**"
    return glob


def apply_rules(names: Iterable[str], rules: list[tuple[bool, str]]) -> set[str]:
    """The names left after `rules`: each `(False, glob)` removes what matches, each
    `(True, glob)` puts back what matches among the original names."""
    every = list(names)
    kept = set(every)
    for keep, glob in rules:
        hit = {n for n in every if matches(glob, n)}
        kept = kept | hit if keep else kept - hit
    return kept
