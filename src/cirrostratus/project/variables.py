"""The few serverless variables we resolve ourselves; everything else stays text.

Cirrus leaves `${self:...}`, `${opt:...}` and `${env:...}` to the Serverless Framework. A local
runtime still needs numbers (a job definition's `Memory: ${self:custom.batch.X.Memory}`) and
the region (`${opt:region, 'us-west-2'}`), so for *those* fields we resolve a value that is
exactly one variable: `self:` against cirrus.yml, `env:` from the environment, and
`opt:` (command-line options we do not have) to its default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

_VARIABLE = re.compile(r"^\$\{\s*([a-zA-Z]+):([^,}]*?)\s*(?:,\s*(.*?)\s*)?\}$")
_MAX_DEPTH = 10


def resolve(value: Any, config: Mapping[str, Any], depth: int = 0) -> Any:
    """Resolve `value` if it is a single serverless variable; return it unchanged otherwise.

    An unresolvable variable is returned as the original text, so callers can report it.
    """
    if not isinstance(value, str) or depth > _MAX_DEPTH:
        return value
    match = _VARIABLE.match(value.strip())
    if match is None:
        return value
    source, path, default = match.group(1), match.group(2).strip(), match.group(3)
    if source == "self":
        found: Any = config
        for part in path.split("."):
            if isinstance(found, Mapping) and part in found:
                found = found[part]
            else:
                found = None
                break
        if found is not None:
            return resolve(found, config, depth + 1)
    elif source == "env" and path in os.environ:
        return os.environ[path]
    if default is not None:
        return resolve(_unquote(default), config, depth + 1)
    return value


def _unquote(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        return text


def as_number(value: Any, config: Mapping[str, Any]) -> float | None:
    """A numeric field: a number, a numeric string, or a variable resolving to one; else None."""
    value = resolve(value, config)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_int(value: Any, config: Mapping[str, Any]) -> int | None:
    number = as_number(value, config)
    return None if number is None else int(number)
