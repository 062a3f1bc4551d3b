"""Help says only what works today, one name per option, words in the right number
(issue 9, item 16); shared table helpers (item 3)."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner

from cirrostratus.cli import cli
from cirrostratus.cli.tables import plural, short_id, shorten_ids_in


def help_of(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_root_help_promises_only_what_exists() -> None:
    text = help_of()
    assert "Dask" not in text
    assert "deploy " in text and "remove " in text  # cirro deploy exists (issue 12)
    assert "not available" not in text
    assert "build " in text  # cirro build exists (issue 12)


def test_concurrency_is_one_name_everywhere() -> None:
    for command in (("run",), ("serve",), ("rerun",)):
        text = help_of(*command)
        assert "--concurrency" in text and "--workers" not in text, command
    assert "--json" in help_of("rerun")


def test_serve_still_takes_workers_as_a_deprecated_alias(tmp_path: object) -> None:
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "serve", "--workers", "2"])
    assert "--workers is deprecated: use --concurrency" in result.output
    assert "no cirrus.yml" in str(result.exception)  # parsed, then stopped at the project


def test_plural() -> None:
    assert plural(1, "payload") == "1 payload"
    assert plural(0, "payload") == "0 payloads" and plural(2, "entry", "entries") == "2 entries"


def test_short_id_keeps_short_ids_and_shortens_long_ones() -> None:
    short = "c/workflow-w/a"
    assert short_id(short) == short
    items = [f"item-{i:05d}" for i in range(10_000)]
    long = "c/workflow-w/" + "/".join(items)
    shown = short_id(long)
    digest = hashlib.sha256(long.encode()).hexdigest()[:8]
    assert shown == f"{long[:60]}…[10000 items, #{digest}]"
    other = short_id("c/workflow-w/" + "/".join([*items[:-1], "item-xxxxx"]))
    assert other != shown  # same beginning, different ids: they still look different


def test_long_ids_inside_messages_are_shortened() -> None:
    long = "c/workflow-w/" + "/".join(f"item-{i}" for i in range(500))
    text = shorten_ids_in(f"RecursionError: {long}: too deep")
    assert text.startswith("RecursionError: c/workflow-w/item-0/") and text.endswith(": too deep")
    assert long not in text and "500 items" in text
    assert shorten_ids_in("no ids here") == "no ids here"


def test_a_group_without_a_command_prints_its_help_not_an_error() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "cirrostratus", "payload"], capture_output=True, text=True
    )
    assert proc.stderr.startswith("Usage: cirro payload") and "Error" not in proc.stderr
