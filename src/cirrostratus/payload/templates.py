"""Path templates (`upload_options.path_template`) and where their results may land.

Variables, written `${name}` (or `$name` for plain identifiers; `$$` is a literal `$`):
- `id`, `collection`: from the item;
- `year`, `month`, `day`: from `properties.datetime`, else `properties.start_datetime`,
  as unpadded numbers (2020-07-06 gives `2020/7/6`), as Cirrus and stac-task write them;
- `date`: the same date as `YYYY-MM-DD`;
- any other name: `properties[name]`, colons included (`${mgrs:utm_zone}`); a dotted
  name (`${a.b}`) walks into the properties, then into the item.

A relative result lands under a root (the data store); `join_under` refuses one that would
escape it. A template that is a full URL (`s3://bucket/...`, `file:///...`) replaces the
root. A leading `/` in a template means "from the root", as in Cirrus, not the file system.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cirrostratus.payload.errors import PayloadError

DEFAULT_TEMPLATE = "${collection}/${id}"
_VARIABLE = re.compile(r"\$(?:\{([^{}]*)\}|([_a-zA-Z][_a-zA-Z0-9]*)|(\$))")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_DATE_PARTS = ("year", "month", "day", "date")


def is_url(path: str) -> bool:
    """True for `scheme://...` (s3, file, https, ...)."""
    return bool(_URL.match(path))


def render_path(template: str, item: Mapping[str, Any]) -> str:
    """Fill `template` from a STAC item dict. Raises PayloadError naming the variable."""
    if not isinstance(template, str):
        raise PayloadError(f"path_template must be a string (got {type(template).__name__})")
    when: datetime | None = None

    def value(match: re.Match[str]) -> str:
        nonlocal when
        if match.group(3):
            return "$"
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if name in _DATE_PARTS:
            if when is None:
                when = _item_datetime(item, name, template)
            if name == "date":
                return when.strftime("%Y-%m-%d")
            return str(getattr(when, name))
        return _lookup(item, name, template)

    return _VARIABLE.sub(value, template)


def _problem(item: Mapping[str, Any], name: str, template: str, why: str) -> PayloadError:
    return PayloadError(
        f"path_template {template!r}: ${{{name}}} {why} for item {item.get('id')!r}"
    )


def _lookup(item: Mapping[str, Any], name: str, template: str) -> str:
    if not name:
        raise PayloadError(f"path_template {template!r} has an empty variable ${{}}")
    if name in ("id", "collection"):
        found = item.get(name)
        if found is None or found == "":
            raise _problem(item, name, template, f"has no value: the item has no {name}")
        return _text(found, item, name, template)
    props = item.get("properties")
    props = props if isinstance(props, Mapping) else {}
    if name in props:
        return _text(props[name], item, name, template)
    if "." in name:
        for start in (props, item):
            found = _walk(start, name.split("."))
            if found is not None:
                return _text(found, item, name, template)
    raise _problem(item, name, template, f"has no value: the item has no properties.{name}")


def _walk(data: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _text(value: Any, item: Mapping[str, Any], name: str, template: str) -> str:
    if value is None or isinstance(value, (dict, list)):
        raise _problem(item, name, template, f"is {type(value).__name__}, not a simple value")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _item_datetime(item: Mapping[str, Any], name: str, template: str) -> datetime:
    props = item.get("properties")
    props = props if isinstance(props, Mapping) else {}
    raw = props.get("datetime") or props.get("start_datetime")
    if not raw:
        raise _problem(
            item,
            name,
            template,
            "has no value: the item has no properties.datetime or start_datetime",
        )
    if not isinstance(raw, str):
        raise _problem(item, name, template, f"needs an ISO 8601 datetime (got {raw!r})")
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise _problem(item, name, template, f"needs an ISO 8601 datetime (got {raw!r})") from None


def join_under(root: str, rendered: str) -> str:
    """`rendered` placed under `root` (a folder, `file://` or `s3://` URL), as a string.

    A full URL replaces the root. Refused with PayloadError: an empty path, a `..` segment
    (in a URL too), an absolute path, a Windows drive or a backslash.
    """
    if not isinstance(rendered, str) or not rendered.strip("/"):
        raise PayloadError(f"rendered path {rendered!r} is empty")
    segments = rendered.split("/")
    if ".." in segments or "\\" in rendered:
        raise PayloadError(
            f"rendered path {rendered!r} escapes its root (contains '..' or a backslash);"
            " fix the path_template or the item values it uses"
        )
    if is_url(rendered):
        return rendered
    if rendered.startswith("/") or re.match(r"^[a-zA-Z]:", rendered):
        raise PayloadError(
            f"rendered path {rendered!r} is absolute; a path_template is relative to the data"
            " store, or a full URL such as s3://bucket/..."
        )
    return root.rstrip("/") + "/" + rendered


def output_location(root: str, template: str | None, item: Mapping[str, Any]) -> str:
    """Where an item's outputs go: its path_template rendered and placed under `root`.

    A missing template uses `${collection}/${id}`. A leading `/` in the template counts
    from the root (the Cirrus convention for "the data bucket").
    """
    template = DEFAULT_TEMPLATE if template is None else template
    if isinstance(template, str) and not is_url(template):
        template = template.lstrip("/")
    return join_under(root, render_path(template, item))
