"""Compiled JSONPath and regex patterns, cached: the same few patterns arrive with every
payload, and jsonpath-ng takes about a millisecond to parse one."""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from typing import Any

from jsonpath_ng.ext.parser import parse as _parse_jsonpath


class PatternError(Exception):
    """A pattern that does not compile; callers turn it into a located PayloadError."""


@lru_cache(maxsize=512)
def jsonpath(expr: str) -> Any:
    """The compiled jsonpath-ng (ext) expression, or PatternError with the parser's reason."""
    try:
        with warnings.catch_warnings():
            # `&` in filters is deprecated in jsonpath-ng but is what Cirrus payloads use
            warnings.simplefilter("ignore", DeprecationWarning)
            return _parse_jsonpath(expr)
    except Exception as exc:  # the parser raises several unrelated types
        raise PatternError(f"is not a valid JSONPath expression ({exc})") from None


@lru_cache(maxsize=512)
def regex(expr: str) -> re.Pattern[str]:
    """The compiled regular expression, or PatternError with the reason."""
    try:
        return re.compile(expr)
    except (re.error, RecursionError, OverflowError) as exc:
        raise PatternError(f"is not a valid regular expression ({exc})") from None


def find(expr: str, data: Any) -> list[Any]:
    """Values matched by `expr` in `data`; a failing evaluation becomes PatternError."""
    compiled = jsonpath(expr)
    try:
        return [m.value for m in compiled.find(data)]
    except Exception as exc:
        raise PatternError(f"could not be evaluated ({type(exc).__name__}: {exc})") from None
