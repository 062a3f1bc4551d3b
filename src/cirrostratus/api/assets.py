"""`/asset`: an image of the project's local data store, for the dashboard's thumbnails.

Output items written locally name their thumbnails by `file://` URL or by a path relative to
their own file, which a browser may not load from an http page. The API serves them, read-only
and confined: whatever `href` names must resolve — `..` and symlinks followed — inside the
data store's folder, and be an image. Nothing else is served: an HTML or SVG file would run on
the API's origin, where the dashboard keeps the write token.
"""

from __future__ import annotations

import os

from cirrostratus.api.errors import BadRequest, NotFound


class Forbidden(Exception):
    """Outside what the API may read (403)."""


#: What `/asset` serves: images a browser shows in an <img>.
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
}


def resolve_asset(
    href: str, data_root: str | os.PathLike[str], project_root: str | os.PathLike[str]
) -> tuple[str, str]:
    """(path, media type) of the image `href` names: a `file://` URL, an absolute path, or a
    path relative to the project root. BadRequest for other URLs, Forbidden outside the data
    store or for a file that is not an image, NotFound when there is no such file."""
    from cirrostratus.storage.keys import url_path

    shown = repr(href[:200])
    if href.startswith("file://"):
        path = url_path(href)
    elif "://" in href or href.startswith("data:"):
        raise BadRequest(f"href={shown}: give a file:// URL or a path in the data store")
    else:
        path = href if os.path.isabs(href) else os.path.join(project_root, href)
    try:
        real, base = os.path.realpath(path), os.path.realpath(data_root)
    except (ValueError, OSError) as exc:
        raise BadRequest(f"href={shown} is not a path ({exc})") from None
    if os.path.commonpath([real, base]) != base:
        raise Forbidden(f"href={shown} is outside the project's data store")
    media = IMAGE_TYPES.get(os.path.splitext(real)[1].lower())
    if media is None:
        raise Forbidden(f"href={shown}: only images ({', '.join(sorted(IMAGE_TYPES))}) are served")
    if not os.path.isfile(real):
        raise NotFound(f"no file at {shown} in the data store")
    return real, media
