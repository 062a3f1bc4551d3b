"""RFC 3339 timestamps as Step Functions reads and writes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: object) -> datetime | None:
    """A timezone-aware datetime, or None if `value` is not an RFC 3339 timestamp
    (uppercase T, seconds, and a Z or numeric offset are required, as on AWS).

    A datetime is accepted as itself (naive means UTC): YAML loaders turn unquoted
    timestamps in a definition into datetimes.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not _RFC3339.match(value):
        return None
    text = value
    frac = re.search(r"\.(\d+)", text)
    if frac and len(frac.group(1)) > 6:  # Python keeps microseconds only
        text = text.replace(frac.group(0), "." + frac.group(1)[:6])
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """`2024-01-02T03:04:05.678Z`, the form the context object uses."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
