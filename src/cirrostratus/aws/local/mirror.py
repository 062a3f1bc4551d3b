"""Moto's S3 as a live view of the project's folders: `.cirro/data` and `.cirro/payloads`.

The folders stay the truth, so everything that reads them without a server keeps working
(`cirro payload get`, published items opened as plain files, the next run). Moto runs in the
engine's process (`ThreadedMotoServer`), which lets us hook its S3 backend for the mirrored
buckets only:

- write-through: every object moto stores (put, copy, multipart upload) is written to the
  folder at once, at the key the engine's own `LocalStore` would use (`object_key`);
- read-through: an object moto does not hold but the folder does (the engine's own
  `<payload id>/input.json`, an item published in an earlier run) is loaded on first use;
- listing: the folder's files under the prefix are loaded before moto lists;
- delete: the file goes too.

Nothing is copied at start or at close, so a crash loses no object and the cost does not grow
with the project's history.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cirrostratus.storage.keys import StoreError, object_key

_lock = threading.RLock()
_folders: dict[str, Path] = {}  # bucket name → folder, for the running local AWS
_loading = threading.local()  # set while we load a file into moto ourselves (no write-back)
_originals: dict[str, Callable[..., Any]] = {}


def folder_path(folder: Path, key: str) -> Path | None:
    """Where the object `key` lives in `folder` (None for a key no folder can hold)."""
    try:
        return folder / object_key(key)
    except StoreError:
        return None


def mirror(buckets: dict[str, Path]) -> None:
    """Start mirroring these buckets onto their folders (moto's S3 backend is hooked once)."""
    with _lock:
        _install()
        for name, folder in buckets.items():
            folder.mkdir(parents=True, exist_ok=True)
            _folders[name] = folder


def unmirror() -> None:
    """Stop mirroring; moto's S3 backend gets its own methods back."""
    with _lock:
        _folders.clear()
        if not _originals:
            return
        from moto.s3.models import S3Backend

        for name, method in _originals.items():
            setattr(S3Backend, name, method)
        _originals.clear()


def _install() -> None:
    if _originals:
        return
    from moto.s3.models import S3Backend

    for name in ("put_object", "get_object", "delete_object", "list_objects"):
        _originals[name] = getattr(S3Backend, name)
    S3Backend.put_object = _put_object  # type: ignore[method-assign]
    S3Backend.get_object = _get_object  # type: ignore[method-assign]
    S3Backend.delete_object = _delete_object  # type: ignore[method-assign]
    S3Backend.list_objects = _list_objects  # type: ignore[method-assign]


def _write(path: Path, data: bytes) -> None:
    """Write-then-rename, as LocalStore does, so a reader never sees half an object."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-moto-{os.getpid()}-{threading.get_ident()}"
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _put_object(
    self: Any, bucket_name: str, key_name: str, value: bytes, *a: Any, **kw: Any
) -> Any:
    key = _originals["put_object"](self, bucket_name, key_name, value, *a, **kw)
    folder = _folders.get(bucket_name)
    if folder is not None and not getattr(_loading, "on", False) and key is not None:
        path = folder_path(folder, key_name)
        if path is not None:
            _write(path, bytes(key.value))
    return key


def _load(self: Any, bucket_name: str, key_name: str) -> None:
    """Put the folder's copy of `key_name` into moto, if the folder has one."""
    folder = _folders.get(bucket_name)
    path = folder_path(folder, key_name) if folder is not None else None
    if path is None or not path.is_file():
        return
    _loading.on = True
    try:
        _originals["put_object"](self, bucket_name, key_name, path.read_bytes())
    finally:
        _loading.on = False


def _get_object(
    self: Any,
    bucket_name: str,
    key_name: str,
    version_id: str | None = None,
    *a: Any,
    **kw: Any,
) -> Any:
    """moto's get_object (also behind head_object and copies), reading through to the folder
    for the latest version of a key moto does not hold yet."""
    key = _originals["get_object"](self, bucket_name, key_name, version_id, *a, **kw)
    if (
        key is None
        and version_id is None
        and bucket_name in _folders
        # not over a delete marker: a deleted object stays deleted
        and _originals["get_object"](self, bucket_name, key_name, None, None, True) is None
    ):
        _load(self, bucket_name, key_name)
        key = _originals["get_object"](self, bucket_name, key_name, version_id, *a, **kw)
    return key


def _delete_object(self: Any, bucket_name: str, key_name: str, *a: Any, **kw: Any) -> Any:
    result = _originals["delete_object"](self, bucket_name, key_name, *a, **kw)
    folder = _folders.get(bucket_name)
    path = folder_path(folder, key_name) if folder is not None else None
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return result


def _list_objects(self: Any, bucket: Any, prefix: str | None, *a: Any, **kw: Any) -> Any:
    folder = _folders.get(getattr(bucket, "name", ""))
    if folder is not None:
        for key_name in folder_keys(folder, prefix or ""):
            if key_name not in bucket.keys:
                _load(self, bucket.name, key_name)
    return _originals["list_objects"](self, bucket, prefix, *a, **kw)


def folder_keys(folder: Path, prefix: str) -> Iterator[str]:
    """The keys of the files in `folder` that start with `prefix` (temp files left out)."""
    base = prefix.rpartition("/")[0]
    start = folder / base if base else folder
    if not start.is_dir():
        return
    for dirpath, _dirs, files in os.walk(start):
        rel = Path(dirpath).relative_to(folder).as_posix()
        for name in files:
            if name.startswith(".tmp-"):
                continue
            key = name if rel == "." else f"{rel}/{name}"
            if key.startswith(prefix):
                yield key
