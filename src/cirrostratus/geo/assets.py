"""Reading and writing a task's assets: which ones, where they come from, where they go.

Where an asset goes is the payload's business (payload/: `upload_options.path_template`,
collection matching); how it is written is the object store's (storage/). This module only
joins them, so copy-assets, convert-to-cog and add-preview place files exactly as publish
places items.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from cirrostratus.payload import find_collection, output_location
from cirrostratus.storage import LocalStore, open_store, read_url
from cirrostratus.storage.keys import url_path

ALL = "ALL"


def select(item: Mapping[str, Any], wanted: Any, task: str) -> list[str]:
    """The asset keys `wanted` names (`ALL` or None: every asset), checked against the item."""
    assets = item.get("assets") or {}
    if wanted is None or wanted == ALL:
        return list(assets)
    if isinstance(wanted, str):
        wanted = [wanted]
    if not isinstance(wanted, list | tuple | dict):
        raise ValueError(f"{task}: assets must be a list of asset keys or 'ALL' (got {wanted!r})")
    missing = [key for key in wanted if key not in assets]
    if missing:
        from stactask.exceptions import InvalidInput

        raise InvalidInput(
            f"{task}: item {item.get('id')!r} has no asset {', '.join(map(repr, missing))} "
            f"(it has {', '.join(assets) or 'none'}); fix process.tasks.{task}.assets"
        )
    return list(wanted)


def absolute_href(item: Mapping[str, Any], href: str) -> str:
    """`href` made absolute against the item's self link (STAC allows relative asset hrefs)."""
    if "://" in href or os.path.isabs(href):
        return href
    for link in item.get("links") or ():
        if link.get("rel") == "self" and link.get("href"):
            base = str(link["href"])
            if "://" in base:
                return urljoin(base, href)
            return posixpath.normpath(posixpath.join(posixpath.dirname(base), href))
    return href


def fetch(item: Mapping[str, Any], key: str, workdir: Path) -> Path:
    """Download asset `key` of `item` into `workdir` (local, http(s) and s3:// hrefs)."""
    href = absolute_href(item, str(item["assets"][key]["href"]))
    if "://" not in href or href.startswith("file://"):
        path = Path(url_path(href)) if href.startswith("file://") else Path(href)
        if path.exists():
            return path
    name = posixpath.basename(href.split("?", 1)[0]) or f"{key}.bin"
    dest = workdir / f"{key}-{name}"
    dest.write_bytes(read_url(href))
    return dest


def place_item(item: dict[str, Any], process: Mapping[str, Any]) -> None:
    """Give the item its collection from the payload's rules before a path is rendered from it
    (`${collection}` must be the one publish will use)."""
    matchers = process.get("collection_matchers") or None
    upload = process.get("upload_options", process.get("output_options")) or {}
    found = find_collection(item, matchers=matchers, mapping=upload.get("collections") or None)
    if found is not None:
        item["collection"] = found


def _destination(
    item: Mapping[str, Any],
    key: str,
    upload_options: Mapping[str, Any],
    data_root: str | None,
) -> tuple[str, bool, dict[str, Any]]:
    """Where asset `key` of `item` goes: its folder, whether it is public, its headers."""
    root = data_root or os.environ.get("CIRRUS_DATA_BUCKET") or ""
    if not root:
        raise RuntimeError("CIRRUS_DATA_BUCKET is not set: run the task through cirro")
    folder = output_location(root, upload_options.get("path_template"), item)
    public = upload_options.get("public_assets") or []
    is_public = public == ALL or key in public
    return folder, is_public, dict(upload_options.get("headers") or {})


def keep_local(task: Any) -> Path | None:
    """The workdir of a stactask Task run with upload off (`upload=False`, `--no-upload`), where
    its outputs stay; None when it uploads. Keep the workdir (`save_workdir`, cirro's
    `--workdir`) to find them afterwards: stactask removes a temporary one when the task ends."""
    if getattr(task, "_upload", True):
        return None
    return Path(task._workdir)


def upload(
    item: Mapping[str, Any],
    key: str,
    filename: str,
    data: bytes,
    upload_options: Mapping[str, Any],
    data_root: str | None = None,
    keep_in: Path | None = None,
) -> str:
    """Write `data` as `<path_template rendered for item>/<filename>`; return its href.

    `public_assets` (list or ALL) and `headers` apply on s3://: a public-read object with an
    https href, and headers such as ContentType or CacheControl. A local store ignores them.
    With `keep_in` (the task's workdir when run with upload off, stactask's `--no-upload`)
    the file is written there instead and its path is the href.
    """
    if keep_in is not None:
        kept = Path(keep_in).absolute() / filename
        kept.write_bytes(data)
        return str(kept)
    folder, is_public, headers = _destination(item, key, upload_options, data_root)
    if folder.startswith("s3://") and (headers or is_public):
        import fsspec

        url = f"{folder.rstrip('/')}/{filename}"
        extra = {**headers, **({"ACL": "public-read"} if is_public else {})}
        with fsspec.open(url, "wb", **extra) as fh:
            fh.write(data)
        if is_public:
            bucket, _, path = url.removeprefix("s3://").partition("/")
            return f"https://{bucket}.s3.amazonaws.com/{path}"
        return url
    return open_store(folder).put_bytes(filename, data)


def upload_file(
    item: Mapping[str, Any],
    key: str,
    filename: str,
    path: Path,
    upload_options: Mapping[str, Any],
    data_root: str | None = None,
    keep_in: Path | None = None,
) -> str:
    """Like `upload`, for a file the task wrote in its workdir and no longer needs: to a local
    data store it is moved into place (a rename, or one streamed copy across file systems)
    rather than read into memory and written again (for a 2048x2048x3 COG of 25 MB, that
    was about 5% of convert-to-cog's time). With `keep_in` (upload off) the file stays where
    it is and its path is the href."""
    if keep_in is not None:
        return str(path.absolute())
    folder, _, _ = _destination(item, key, upload_options, data_root)
    store = open_store(folder)
    if not isinstance(store, LocalStore):
        return upload(item, key, filename, path.read_bytes(), upload_options, data_root)
    target = store.path(filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    # beside the target first, then one rename: a reader never sees half a file
    partial = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    shutil.move(path, partial)
    os.replace(partial, target)
    return store.url(filename)
