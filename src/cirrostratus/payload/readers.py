"""Reading a stored payload by URL. Envelope unwrapping is given a reader, so it does no
I/O of its own; the default here reads only this machine's files. The engine passes a
store-aware reader (s3:// and friends) instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from cirrostratus.payload.errors import PayloadError

Reader = Callable[[str], bytes]
"""Returns the bytes stored at a URL; raises when it cannot."""


def read_url(url: str) -> bytes:
    """Read a local path or a `file://` URL. Other schemes need a reader that knows them."""
    if url.startswith("file://"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise PayloadError(f"{url!r} names another host; only local file:// URLs are read")
        path = Path(unquote(parsed.path))
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
