"""Tables and words for people reading the CLI: short payload ids, right plurals, no wrapped ids.

Shared by `query`, `deadletters list`, `payload state` and the run summary so they all read
alike. `--json` output never goes through here: it keeps full ids.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

#: Ids up to this many characters are shown whole; longer ones keep this many and a tail.
SHORT_ID_CHARS = 60
#: What a table may grow to when stdout is not a terminal (a pipe, a file): no wrapping.
PIPE_WIDTH = 100_000


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 payload`, `2 payloads`, `0 payloads` (`many` for irregular words)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def short_id(payload_id: str, limit: int = SHORT_ID_CHARS) -> str:
    """A payload id a person can read: whole when short; else its first `limit` characters,
    `…`, how many items it names and a digest of the whole id, so two long ids that share a
    beginning still look different. A payload of 10,000 items has an id of tens of KB."""
    if len(payload_id) <= limit + 20:
        return payload_id
    _, sep, rest = payload_id.partition("/workflow-")
    items = rest.count("/") if sep else 0  # item ids follow `workflow-<name>/`
    digest = hashlib.sha256(payload_id.encode()).hexdigest()[:8]
    what = f"{plural(items, 'item')}, " if items else ""
    return f"{payload_id[:limit]}…[{what}#{digest}]"


_SHORT_ID = re.compile(r"(?P<prefix>.+)…\[(?:\d+ items?, )?#(?P<digest>[0-9a-f]{8})\]")


def parse_short_id(text: str) -> tuple[str, str] | None:
    """(prefix, digest) of an id as `short_id` prints it, or None for a whole id."""
    m = _SHORT_ID.fullmatch(text)
    return (m.group("prefix"), m.group("digest")) if m else None


def matches_short_id(payload_id: str, prefix: str, digest: str) -> bool:
    if not payload_id.startswith(prefix):
        return False
    return hashlib.sha256(payload_id.encode()).hexdigest()[:8] == digest


_LONG_ID = re.compile(r"[^\s'\"]*/workflow-[^\s'\"]{" + str(SHORT_ID_CHARS) + ",}")


def shorten_ids_in(text: str) -> str:
    """`text` (an error message, a log line) with each long payload id in it shortened."""

    def shorten(match: re.Match[str]) -> str:
        found = match.group(0)
        core = found.rstrip(":;,.)]")  # punctuation after an id belongs to the sentence
        return short_id(core) + found[len(core) :]

    return _LONG_ID.sub(shorten, text)


def console(*, stderr: bool = False) -> Any:
    """A rich Console as wide as the terminal, or unlimited when piped, so that rows are
    never folded at 80 columns in a log or a `| grep`."""
    from rich.console import Console

    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True)


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    nowrap: Sequence[int] = (0,),
    out: Any = None,
) -> None:
    """A table whose `nowrap` columns (ids, states, times: copied and pasted, so shorten long
    ids with `short_id` first) never wrap, and whose other columns fold to fit a terminal."""
    from rich.table import Table

    out = out or console()
    table = Table()
    for index, header in enumerate(headers):
        if index in nowrap:
            table.add_column(header, no_wrap=True, overflow="ignore")
        else:
            table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)
