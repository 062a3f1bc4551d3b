"""The ObjectStore protocol with its local-folder default and its fsspec twin."""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

from cirrostratus.storage.keys import StoreError, file_url, object_key, url_path


@runtime_checkable
class ObjectStore(Protocol):
    """Where payloads and outputs live. Keys are `/`-separated paths under the store's root."""

    root_url: str

    def url(self, key: str) -> str: ...
    def put_bytes(self, key: str, data: bytes) -> str: ...
    def get_bytes(self, key_or_url: str) -> bytes: ...
    def exists(self, key_or_url: str) -> bool: ...


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_clean_key = object_key  # every key is stored the one way storage/keys.py describes


class LocalStore:
    """A folder on this machine. URLs are `file://` + the path, literally, so stactask,
    fsspec and pystac all open them (see storage/keys.py)."""

    concurrent_writes = False

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        self.root_url = file_url(self.root)
        self._root_str = str(self.root).rstrip("/")  # "" for the file system root
        self._made: set[str] = set()  # folders known to exist: one mkdir per folder, not per write
        self._tmp = itertools.count()

    def path(self, key_or_url: str) -> Path:
        if key_or_url.startswith("file://"):
            return Path(url_path(key_or_url))
        if os.path.isabs(key_or_url):
            return Path(key_or_url)
        return self.root / _clean_key(key_or_url)

    def url(self, key: str) -> str:
        return file_url(f"{self._root_str}/{_clean_key(key)}")

    def put_bytes(self, key: str, data: bytes) -> str:
        key = _clean_key(key)
        target = f"{self._root_str}/{key}"
        folder = target.rpartition("/")[0]
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        # write-then-rename: a reader never sees half an object (names unique per process)
        tmp = f"{folder}/.tmp-{os.getpid()}-{threading.get_ident()}-{next(self._tmp)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except FileNotFoundError:  # the folder was removed behind our back: make it again
            self._made.discard(folder)
            return self.put_bytes(key, data)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return file_url(target)

    def get_bytes(self, key_or_url: str) -> bytes:
        if "://" in key_or_url and not key_or_url.startswith("file://"):
            return read_url(key_or_url)
        p = self.path(key_or_url)
        try:
            return p.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"no object at {p}") from None

    def exists(self, key_or_url: str) -> bool:
        if "://" in key_or_url and not key_or_url.startswith("file://"):
            import fsspec

            fs, path = fsspec.core.url_to_fs(key_or_url)
            return bool(fs.exists(path))
        return self.path(key_or_url).exists()

    def put_json(self, key: str, obj: Any) -> str:
        return self.put_bytes(key, orjson.dumps(obj))

    def get_json(self, key_or_url: str) -> Any:
        return orjson.loads(self.get_bytes(key_or_url))


class FsspecStore:
    """Any fsspec location, e.g. `s3://bucket/prefix` (needs the `aws` extra for s3fs)."""

    concurrent_writes = True  # remote writes wait on the network: write several at once

    def __init__(self, root_url: str) -> None:
        import fsspec

        self.root_url = root_url.rstrip("/")
        self.fs, self._root = fsspec.core.url_to_fs(self.root_url)

    def url(self, key: str) -> str:
        return f"{self.root_url}/{_clean_key(key)}"

    def put_bytes(self, key: str, data: bytes) -> str:
        url = self.url(key)
        with self.fs.open(f"{self._root}/{_clean_key(key)}", "wb", **self._options(key)) as fh:
            fh.write(data)
        return url

    def _options(self, key: str) -> dict[str, str]:
        """On S3, a Content-Type from the name (`.json` → application/json), as Cirrus's
        publish uploads items: browsers and STAC clients read the header, not the name."""
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        if "s3" not in protocols:
            return {}
        import mimetypes

        kind = mimetypes.guess_type(key)[0]
        return {"ContentType": kind} if kind else {}

    def get_bytes(self, key_or_url: str) -> bytes:
        if "://" in key_or_url:
            return read_url(key_or_url)
        try:
            with self.fs.open(f"{self._root}/{_clean_key(key_or_url)}", "rb") as fh:
                data: bytes = fh.read()
                return data
        except FileNotFoundError:
            raise StoreError(f"no object at {self.url(key_or_url)}") from None

    def exists(self, key_or_url: str) -> bool:
        if "://" in key_or_url:
            import fsspec

            fs, path = fsspec.core.url_to_fs(key_or_url)
            return bool(fs.exists(path))
        return bool(self.fs.exists(f"{self._root}/{_clean_key(key_or_url)}"))

    def put_json(self, key: str, obj: Any) -> str:
        return self.put_bytes(key, orjson.dumps(obj))

    def get_json(self, key_or_url: str) -> Any:
        return orjson.loads(self.get_bytes(key_or_url))


def read_url(url: str) -> bytes:
    """Read any URL or path: file://, a plain path, s3://, http(s)://."""
    if url.startswith("file://"):
        path = Path(url_path(url))
    elif "://" not in url:
        path = Path(url)
    else:
        if url.startswith("s3://"):
            from cirrostratus.storage import s3

            if not s3.s3fs_available():  # Lambda: boto3 only
                return s3.read_s3(url)
        import fsspec

        try:
            with fsspec.open(url, "rb") as fh:
                data: bytes = fh.read()
                return data
        except FileNotFoundError:
            raise StoreError(f"no object at {url}") from None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"no object at {path}") from None


def open_store(location: str | os.PathLike[str]) -> LocalStore | FsspecStore:
    """A store for a folder path, a file:// URL, or any fsspec URL such as s3://bucket/prefix.

    Without s3fs (on Lambda), s3:// gets `storage.s3.S3Store`, on boto3 alone.
    """
    loc = os.fspath(location)
    if loc.startswith("file://"):
        return LocalStore(url_path(loc))
    if loc.startswith("s3://"):
        from cirrostratus.storage import s3

        if not s3.s3fs_available():
            return s3.S3Store(loc)  # type: ignore[return-value]
    if "://" in loc:
        return FsspecStore(loc)
    return LocalStore(loc)
