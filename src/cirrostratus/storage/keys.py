"""Object keys that always fit, and `file://` URLs that every reader opens.

One rule for every key a store writes (`object_key`):

- a key is `/`-separated; empty and `.` segments are dropped, a `..` segment is refused;
- within a segment, the characters no URL or file name can carry safely are percent-escaped:
  `%` itself, `?` and `#` (pystac reads them as query and fragment), `\\`, control
  characters, and a `:` that follows a `:` (fsspec reads `::` as a URL chain). Everything
  else — `:`, spaces, `+`, `@`, any non-ASCII text — is kept as it is, as Cirrus writes it;
- a segment over 255 bytes (UTF-8, a file system's name limit) keeps a readable prefix and
  its extension around a digest of the whole segment; a key over 1,024 bytes (S3's limit)
  is refused.

A local object's URL is `file://` followed by its absolute path **literally**, not
percent-encoded: that is how fsspec, stac-task and pystac read `file://` URLs.

Payload ids can be far longer than any key (one segment per item id), so payload objects
are stored under `payload_key(payload_id, name)`: `<payload id>/<name>` for an ordinary id,
as Cirrus lays out its payload bucket, and a readable prefix plus a digest otherwise.
"""

from __future__ import annotations

import hashlib
import os
import re
from urllib.parse import unquote

MAX_SEGMENT_BYTES = 255
MAX_KEY_BYTES = 1024
ORDINARY_ID_BYTES = 512
"""Payload ids up to this long keep the `<payload id>/<name>` layout (room for a prefix)."""

_READABLE_BYTES = 100
_DIGEST_CHARS = 32
_DIGEST_SEGMENT = re.compile(rf"~[0-9a-f]{{{_DIGEST_CHARS}}}")
_ESCAPED = frozenset("%?#\\") | frozenset(chr(c) for c in range(32)) | {"\x7f"}


class StoreError(Exception):
    """A key that cannot be stored or read (missing object, key escaping its root)."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _truncate(text: str, limit: int) -> str:
    """The longest prefix of `text` that is at most `limit` UTF-8 bytes (whole characters)."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def _unsafe(ch: str) -> bool:
    return ch in _ESCAPED or ch == ":" or "\ud800" <= ch <= "\udfff"


def escape_segment(segment: str) -> str:
    """Percent-escape the characters of one key segment that no href can carry (see above)."""
    out = []
    previous = ""
    for ch in segment:
        if ch in _ESCAPED or (ch == ":" and previous == ":") or "\ud800" <= ch <= "\udfff":
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
        previous = ch
    return "".join(out)


def fit_segment(segment: str, limit: int = MAX_SEGMENT_BYTES) -> str:
    """`segment` if it fits in `limit` bytes, else `<readable prefix>~<digest><extension>`."""
    if _utf8_len(segment) <= limit:
        return segment
    stem, dot, ext = segment.rpartition(".")
    extension = f".{ext}" if dot and stem and 0 < len(ext) <= 10 and ext.isalnum() else ""
    tail = f"~{_digest(segment)}{extension}"
    return _truncate(segment, limit - _utf8_len(tail)) + tail


def object_key(key: str) -> str:
    """The key as stored: segments cleaned, escaped and fitted. Raises StoreError when the
    key is empty, escapes its root (`..`) or is over 1,024 bytes."""
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise StoreError(f"object key {key!r} is empty or escapes the store root (contains '..')")
    stored = "/".join(fit_segment(escape_segment(p)) for p in parts)
    if _utf8_len(stored) > MAX_KEY_BYTES:
        raise StoreError(
            f"object key {_truncate(stored, 80)!r}... is {_utf8_len(stored)} bytes; keys are"
            f" limited to {MAX_KEY_BYTES} (S3's limit): shorten the path_template or the ids"
        )
    return stored


def _is_ordinary(payload_id: str) -> bool:
    if _utf8_len(payload_id) > ORDINARY_ID_BYTES:
        return False
    parts = payload_id.split("/")
    if any(p in ("", ".", "..") or _DIGEST_SEGMENT.fullmatch(p) for p in parts):
        return False
    return all(fit_segment(escape_segment(p)) == p for p in parts)


def payload_dir(payload_id: str) -> str:
    """Where a payload's objects live: the id itself when it is ordinary (short, every
    segment a plain file name), else its leading whole segments up to 100 bytes (unsafe
    characters as `_`, each cut to 64 bytes) and a last segment `~<digest of the whole id>`.

    Distinct ids give distinct folders; `object_key` leaves the result unchanged.
    """
    if _is_ordinary(payload_id):
        return payload_id
    readable: list[str] = []
    used = 0
    for part in payload_id.split("/"):
        clean = "".join("_" if _unsafe(ch) else ch for ch in part)
        clean = _truncate(clean if clean not in ("", ".", "..") else "_", 64)
        used += _utf8_len(clean) + 1
        if used > _READABLE_BYTES:
            break
        readable.append(clean)
    readable.append(f"~{_digest(payload_id)}")
    return "/".join(readable)


def payload_key(payload_id: str, name: str) -> str:
    """The key of a payload's object `name` (`input.json`, `output.json`,
    `chained-from-<execution>.json`): always under 1,024 bytes, every segment under 255."""
    return f"{payload_dir(payload_id)}/{name}"


def file_url(path: str | os.PathLike[str]) -> str:
    """`file://` + the absolute path, literally (as fsspec, stac-task and pystac read it)."""
    return "file://" + os.path.abspath(os.fspath(path)).replace(os.sep, "/")


def url_path(url: str) -> str:
    """The local path a `file://` URL names: the text after `file://` (and `localhost`),
    literally. A URL written percent-encoded by an older version (or by `Path.as_uri()`)
    is read decoded when no file has the literal name."""
    rest = url.removeprefix("file://")
    if rest.startswith("localhost/"):
        rest = rest.removeprefix("localhost")
    if "%" in rest and not os.path.exists(rest):
        decoded = unquote(rest)
        if os.path.exists(decoded):
            return decoded
    return rest
