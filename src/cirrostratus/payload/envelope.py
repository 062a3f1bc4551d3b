"""Getting payloads out of whatever carried them.

A payload may arrive bare, in a list, as JSON lines, or wrapped: SQS records (`body`),
an SNS notification (`Sns.Message` or a raw `Message`), SNS inside SQS, a claim check
`{"url"|"href": ...}` pointing at a stored payload, or a Batch SubmitJob.sync result,
whose `Parameters.url` names the job's input: its output sits beside it, `.json` replaced
by `_out.json` (the cirrus run-lambda convention). Unwrapping returns plain dicts; it does
not validate them (see `Payload.from_dict`) and reads stored payloads only through the
reader it is given.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

from cirrostratus.payload.errors import PayloadError, json_kind
from cirrostratus.payload.model import Payload
from cirrostratus.payload.readers import Reader, read_url
from cirrostratus.payload.transport import decode, fetch, pointer_url

MAX_DEPTH = 8


def unwrap(event: Any, reader: Reader = read_url) -> list[dict[str, Any]]:
    """The raw payload dicts inside `event`, in order. Raises PayloadError saying where."""
    out: list[dict[str, Any]] = []
    _unwrap(event, "input", reader, out, 0)
    return out


def batch_output_url(input_url: str) -> str:
    """Where a Batch job wrote its output payload: `x.json` → `x_out.json`."""
    if input_url.endswith(".json"):
        return input_url[: -len(".json")] + "_out.json"
    return input_url + "_out.json"


def _unwrap(obj: Any, where: str, reader: Reader, out: list[dict[str, Any]], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise PayloadError(f"{where} wraps envelopes more than {MAX_DEPTH} levels deep")
    depth += 1
    if isinstance(obj, list):
        for i, element in enumerate(obj):
            _unwrap(element, f"{where}[{i}]", reader, out, depth)
        return
    if not isinstance(obj, dict):
        raise PayloadError(
            f"{where} must be a payload or an envelope object (got {json_kind(obj)})"
        )
    if "process" in obj or "features" in obj:
        out.append(obj)
        return
    records = obj.get("Records")
    if isinstance(records, list):  # SQS or SNS event
        for i, record in enumerate(records):
            _unwrap(record, f"{where}.Records[{i}]", reader, out, depth)
        return
    for key in ("body", "Sns", "Message"):  # SQS record, SNS record, SNS notification
        if key in obj:
            inner = obj[key]
            if isinstance(inner, str | bytes):
                inner = decode(inner, f"{where}.{key}")
            _unwrap(inner, f"{where}.{key}", reader, out, depth)
            return
    url = pointer_url(obj)
    if url is not None:
        _unwrap(fetch(url, reader, f"{where}.url"), f"the payload at {url!r}", reader, out, depth)
        return
    params = obj.get("Parameters")
    if isinstance(params, dict) and isinstance(params.get("url"), str):  # SubmitJob.sync
        out_url = params.get("url_out")
        if not isinstance(out_url, str) or not out_url:
            out_url = batch_output_url(params["url"])
        fetched = fetch(out_url, reader, f"{where}.Parameters.url (Batch output)")
        _unwrap(fetched, f"the payload at {out_url!r}", reader, out, depth)
        return
    out.append(obj)  # no envelope we know: validation will say what the payload lacks


Source = str | bytes | os.PathLike[str] | IO[str] | IO[bytes]


def load_payloads(source: Source, reader: Reader = read_url) -> list[dict[str, Any]]:
    """Raw payload dicts from a file path, `-` (stdin), JSON text or an open file.

    The JSON may be one payload or envelope, a list of them, or JSON lines (one per line).
    A string starting with `{` or `[` is JSON text; any other string is a path.
    """
    name, data = _read_source(source)
    try:
        return unwrap(_parse_documents(data), reader)
    except PayloadError as exc:
        raise exc.with_source(name) from None


def parse_payloads(source: Source, reader: Reader = read_url) -> list[Payload]:
    """Validated payloads from `source` (see `load_payloads`); every problem reported at
    once, each prefixed with its payload's position when there are several."""
    raw = load_payloads(source, reader)
    name = _source_name(source)
    payloads: list[Payload] = []
    problems: list[str] = []
    for i, data in enumerate(raw):
        try:
            payloads.append(Payload.from_dict(data))
        except PayloadError as exc:
            problems.extend(exc.problems if len(raw) == 1 else exc.prefixed(f"[{i}]").problems)
    if problems:
        raise PayloadError(problems, name)
    if not payloads:
        raise PayloadError("no payload found (the input is an empty list)", name)
    return payloads


def _source_name(source: Source) -> str | None:
    if isinstance(source, bytes):
        return None
    if isinstance(source, str):
        if source == "-":
            return "<stdin>"
        return None if source.lstrip()[:1] in ("{", "[") else source
    if isinstance(source, os.PathLike):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else None


def _read_source(source: Source) -> tuple[str | None, bytes | str]:
    name = _source_name(source)
    if isinstance(source, bytes):
        return name, source
    if isinstance(source, str) and source == "-":
        return name, sys.stdin.buffer.read()
    if isinstance(source, str) and name is None:
        return name, source
    if isinstance(source, str | os.PathLike):
        try:
            return name, Path(source).read_bytes()
        except OSError as exc:
            raise PayloadError(f"cannot read the file ({exc.strerror or exc})", name) from None
    return name, source.read()


def _parse_documents(data: bytes | str) -> Any:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if not text.strip():
        raise PayloadError("the input is empty; expected a JSON payload")
    try:
        return decode(data, "the input")
    except PayloadError as whole:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise whole from None
        return [decode(line, f"line {n}") for n, line in lines]
