"""Reading a stored payload by URL. Envelope unwrapping is given a reader, so it does no
I/O of its own; the default here reads only this machine's files. The engine passes a
store-aware reader (s3:// and friends) instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from cirrostratus.payload.errors import PayloadError

Reader = Callable[[str], bytes]
"""Returns the bytes stored at a URL; raises when it cannot."""


def _local_path(literal: str) -> Path:
    """A `file://` URL's path is read literally, as fsspec and pystac read it (the rule is
    storage/keys.py's `url_path`); an older percent-encoded URL is decoded when no file has
    the literal name."""
    path = Path(literal)
    if "%" in literal and not path.exists() and Path(unquote(literal)).exists():
        return Path(unquote(literal))
    return path


def read_url(url: str) -> bytes:
    """Read a local path or a `file://` URL. Other schemes need a reader that knows them."""
    if url.startswith("file://"):
        host, _, rest = url.removeprefix("file://").partition("/")
        if host not in ("", "localhost"):
            raise PayloadError(f"{url!r} names another host; only local file:// URLs are read")
        path = _local_path("/" + rest)
    elif "://" in url:
        raise PayloadError(
            f"cannot read {url!r}: only local paths and file:// URLs are read without a"
            " reader for that scheme"
        )
    else:
        path = Path(url)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PayloadError(f"cannot read {str(path)!r} ({exc.strerror or exc})") from None
