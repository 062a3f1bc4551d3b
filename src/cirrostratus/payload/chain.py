"""Workflow chaining: what runs after a payload's workflow completes.

`process` as a list is a chain: `process[0]` is the block running now, `process[1]` the
next step, either one block (one-to-one) or a list of blocks (fan-out, one payload each).
A next payload is the completed payload without its id, its `process` shifted so the
chosen block comes first, and — when that block has a `chain_filter` — only the features
the filter keeps (`$.features[?(<chain_filter>)]`). A branch left with no features is
not emitted. Many-to-one chaining does not exist in Cirrus and does not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cirrostratus.payload import patterns
from cirrostratus.payload.errors import PayloadError
from cirrostratus.payload.patterns import PatternError
from cirrostratus.payload.validate import filter_expression

_DROPPED = frozenset(("id", "process", "features"))


def successors(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The next payloads of a validated payload dict, without ids.

    The new dicts share feature objects with `data` (nothing is deep-copied): serialise
    them, or copy before mutating.
    """
    process = data.get("process")
    if not isinstance(process, list) or len(process) < 2:
        return []
    following = process[1]
    branches = [following] if isinstance(following, dict) else list(following)
    rest = process[2:]
    base = {k: v for k, v in data.items() if k not in _DROPPED}
    features: list[Any] = data.get("features") or []
    out = []
    for i, branch in enumerate(branches):
        where = "process[1]" if isinstance(following, dict) else f"process[1][{i}]"
        kept = features
        chain_filter = branch.get("chain_filter")
        if chain_filter:
            try:
                kept = patterns.find(filter_expression(chain_filter), data)
            except PatternError as exc:
                raise PayloadError(f"{where}.chain_filter {chain_filter!r} {exc}") from None
        if not kept:
            continue
        new = dict(base)
        new["features"] = list(kept)
        new["process"] = [branch, *rest]
        out.append(new)
    return out
