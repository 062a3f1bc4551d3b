"""What the geo feeders share: payloads from a process template, and sending them as a stream.

A feeder's event holds its parameters and `process` (the payload template's process block).
Items arrive from a generator and leave in batches, so a search of 100,000 items never sits in
memory; a progress line goes to the log every batch. With `output` set (cirro feed's
`--dry-run` and `--run`), payloads are written as JSON lines there instead of queued.

Where queued payloads go is the caller's business: a feeder passes its `send` (locally, the
builtins' intake sender), so this module knows nothing of queues or of the builtins above it.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

BATCH = 100

Send = Callable[[str, Sequence[dict[str, Any]]], Any]
"""Queues payloads: called with the feeder's name and one batch of payloads."""


def template(event: dict[str, Any], component: str) -> Any:
    """The event's `process` block (a dict or a chain list), checked."""
    process = event.get("process")
    if not isinstance(process, dict | list) or not process:
        raise ValueError(
            f"{component}: the event needs `process`, the payload template's process block "
            '(e.g. {"workflow": "cog-archive", "upload_options": {...}}); '
            "give it with `cirro feed NAME --process FILE`"
        )
    return process


def payload_for(items: list[dict[str, Any]], process: Any) -> dict[str, Any]:
    """One process payload holding `items`."""
    return {"type": "FeatureCollection", "features": items, "process": copy.deepcopy(process)}


def group(items: Iterable[dict[str, Any]], by: str | None) -> Iterator[list[dict[str, Any]]]:
    """Items one by one, or runs of consecutive items sharing `properties[by]` (sort the source
    by that property so a group is whole; only the current group is held)."""
    if not by:
        for item in items:
            yield [item]
        return
    current: list[dict[str, Any]] = []
    key: Any = object()
    for item in items:
        value = (item.get("properties") or {}).get(by, item.get(by))
        if current and value != key:
            yield current
            current = []
        key = value
        current.append(item)
    if current:
        yield current


def emit(
    groups: Iterable[list[dict[str, Any]]],
    event: dict[str, Any],
    component: str,
    send: Send | None = None,
) -> dict[str, Any]:
    """Send (or write to `event["output"]`) one payload per group; return counts."""
    process = template(event, component)
    output = event.get("output")
    if not output and send is None:
        raise ValueError(f"{component}: nowhere to send payloads (no `output` and no sender)")
    sent = 0
    batch: list[dict[str, Any]] = []
    sink = open(output, "w", encoding="utf-8") if output else None  # noqa: SIM115
    try:
        for items in groups:
            batch.append(payload_for(items, process))
            if len(batch) >= BATCH:
                sent += _flush(batch, sink, component, send)
                progress(f"{component}: {sent} payloads so far")
        sent += _flush(batch, sink, component, send)
    finally:
        if sink:
            sink.close()
    progress(f"{component}: {sent} payloads in all")
    return {"payloads": sent, "queued": 0 if output else sent, "output": output}


def progress(line: str) -> None:
    """A progress line on stderr, which cirro shows from a feeder's worker as Lambda logs it."""
    print(line, file=sys.stderr, flush=True)


def _flush(batch: list[dict[str, Any]], sink: Any, component: str, send: Send | None) -> int:
    count = len(batch)
    if sink is not None:
        for body in batch:
            sink.write(json.dumps(body) + "\n")
    elif batch and send is not None:
        send(component, batch)
    batch.clear()
    return count


def whole_number(event: dict[str, Any], key: str, component: str) -> int | None:
    """`event[key]` as a whole number, None when absent; a bad value is refused naming the
    feeder, the field and the fix, not with int()'s bare "invalid literal"."""
    value = event.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{component}: `{key}` must be a whole number (got {value!r}), e.g. --param {key}=100"
        ) from None


def limited(items: Iterable[dict[str, Any]], max_items: Any) -> Iterator[dict[str, Any]]:
    """At most `max_items` items (None: all)."""
    left = int(max_items) if max_items not in (None, "") else None
    for item in items:
        if left is not None:
            if left <= 0:
                return
            left -= 1
        yield item
