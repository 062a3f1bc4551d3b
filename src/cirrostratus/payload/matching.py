"""Which collection an output item belongs to: first match wins.

Two ways to say it, never both in one process block:
- `process.collection_matchers` (stac-task 0.7): an ordered list of
  `{"type": "jsonpath", "pattern": ..., "collection_name": ...}` and
  `{"type": "catch_all", "collection_name": ...}`;
- the legacy map `process.upload_options.collections` `{collection: pattern}`, where a
  pattern starting with `$` or equal to `*` is JSONPath (stac-task) and anything else a
  regex matched at the start of the item id (cirrus-lib). Cirrus v0.9 let the last match
  win; its docs, later Cirrus and stac-task say first, and so do we.

JSONPath runs as stac-task runs it: on `[item]`, matching when exactly one value is found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cirrostratus.payload import patterns
from cirrostratus.payload.errors import PayloadError
from cirrostratus.payload.patterns import PatternError

MATCHER_TYPES = ("jsonpath", "catch_all")


def is_legacy_jsonpath(pattern: str) -> bool:
    """True when a legacy map value is JSONPath rather than an id regex."""
    return pattern.startswith("$") or pattern == "*"


def check_collection_rules(block: Mapping[str, Any], where: str, problems: list[str]) -> None:
    """Append a problem for every malformed matcher or map entry of one process block."""
    matchers = block.get("collection_matchers")
    if matchers is not None:
        if not isinstance(matchers, list):
            problems.append(f"{where}.collection_matchers must be a list of matchers")
        else:
            for i, matcher in enumerate(matchers):
                _check_matcher(matcher, f"{where}.collection_matchers[{i}]", problems)
    upload = block.get("upload_options")
    if upload is None:
        upload = block.get("output_options")
    mapping = upload.get("collections") if isinstance(upload, dict) else None
    if mapping is not None:
        mwhere = f"{where}.upload_options.collections"
        if not isinstance(mapping, dict):
            problems.append(f"{mwhere} must be an object of {{collection: pattern}}")
        else:
            for name, pattern in mapping.items():
                if not isinstance(pattern, str):
                    problems.append(f"{mwhere}.{name} must be a string (JSONPath or id regex)")
                    continue
                _check_pattern(pattern, is_legacy_jsonpath(pattern), f"{mwhere}.{name}", problems)
    if matchers and mapping:
        problems.append(
            f"{where}.collection_matchers and {where}.upload_options.collections are both set;"
            " keep only collection_matchers"
        )


def _check_matcher(matcher: Any, where: str, problems: list[str]) -> None:
    if not isinstance(matcher, dict):
        problems.append(f"{where} must be an object with type and collection_name")
        return
    kind = matcher.get("type")
    if kind not in MATCHER_TYPES:
        problems.append(f"{where}.type must be 'jsonpath' or 'catch_all' (got {kind!r})")
    name = matcher.get("collection_name")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}.collection_name must be a non-empty string")
    if kind == "jsonpath":
        pattern = matcher.get("pattern")
        if not isinstance(pattern, str):
            problems.append(f"{where}.pattern must be a JSONPath string")
        else:
            _check_pattern(pattern, True, f"{where}.pattern", problems)


def _check_pattern(pattern: str, is_jsonpath: bool, where: str, problems: list[str]) -> None:
    try:
        if is_jsonpath:
            patterns.jsonpath(pattern)
        else:
            patterns.regex(pattern)
    except PatternError as exc:
        problems.append(f"{where} {pattern!r} {exc}")


def _jsonpath_matches(pattern: str, item: Mapping[str, Any], where: str) -> bool:
    try:
        return len(patterns.find(pattern, [item])) == 1
    except PatternError as exc:
        raise PayloadError(f"{where} {pattern!r} {exc} on item {item.get('id')!r}") from None


def find_collection(
    item: Mapping[str, Any],
    *,
    matchers: list[dict[str, Any]] | None = None,
    mapping: Mapping[str, str] | None = None,
) -> str | None:
    """The collection `item` belongs to by the first matching rule, or None if none match."""
    for i, matcher in enumerate(matchers or ()):
        kind = matcher.get("type")
        if kind == "catch_all":
            return str(matcher["collection_name"])
        if kind == "jsonpath" and _jsonpath_matches(
            str(matcher.get("pattern")), item, f"collection_matchers[{i}].pattern"
        ):
            return str(matcher["collection_name"])
        if kind not in MATCHER_TYPES:
            raise PayloadError(
                f"collection_matchers[{i}].type {kind!r} is not jsonpath or catch_all"
            )
    for name, pattern in (mapping or {}).items():
        if is_legacy_jsonpath(pattern):
            if _jsonpath_matches(pattern, item, f"upload_options.collections.{name}"):
                return name
        else:
            try:
                compiled = patterns.regex(pattern)
            except PatternError as exc:
                raise PayloadError(f"upload_options.collections.{name} {exc}") from None
            if compiled.match(str(item.get("id", ""))):
                return name
    return None


def assign_collections(
    features: list[dict[str, Any]], process: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Set `collection` on every feature a rule of the process block matches, in place.

    Features no rule matches keep their collection. Returns `features` for chaining.
    Raises PayloadError when both rule styles are set or a pattern is broken.
    """
    problems: list[str] = []
    check_collection_rules(process, "process", problems)
    if problems:
        raise PayloadError(problems)
    matchers = process.get("collection_matchers") or None
    upload = process.get("upload_options", process.get("output_options")) or {}
    mapping = upload.get("collections") or None
    if not matchers and not mapping:
        return features
    for item in features:
        found = find_collection(item, matchers=matchers, mapping=mapping)
        if found is not None:
            item["collection"] = found
    return features
