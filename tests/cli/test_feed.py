"""`cirro feed` with the builtin feeders in a fresh `cirro init` project: a feeder's error is
said once (not Lambda's `[ERROR]` line and then `Error:`), names the feeder, the field and the
fix, and shows no traceback unless `cirro -v`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = {"process": {"workflow": "mirror", "upload_options": {"path_template": "${id}"}}}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("feed") / "proj"
    done = feed_cli(root.parent, "init", str(root))
    assert done.returncode == 0, done.stderr
    (root / "template.json").write_text(json.dumps(TEMPLATE))
    return root


def feed_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRRO_HOME": str(cwd / ".home")}
    return subprocess.run(
        [sys.executable, "-m", "cirrostratus", *args],
        cwd=cwd,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


CASES = [
    # (feeder, its flags, the field the error names, the fix it shows, queue or print)
    ("feed-listing", [], "`root`", "--param root=", "--submit"),
    (
        "feed-listing",
        ["--param", "root=/", "--param", "items=rows"],
        "`items`",
        "--param items=",
        "--dry-run",
    ),
    (
        "feed-listing",
        ["--param", "root=/", "--param", "max_items=ten"],
        "`max_items`",
        "--param max_items=",
        "--submit",
    ),
    ("feed-stac-crawl", [], "`catalog`", "--param catalog=", "--dry-run"),
    ("feed-stac-crawl", [], "`catalog`", "--param catalog=", "--submit"),
    ("feed-stac-api", [], "`url`", "--param url=", "--dry-run"),
    (
        "feed-stac-api",
        ["--param", "url=x", "--param", "page_size=[]"],
        "`page_size`",
        "--param page_size=",
        "--submit",
    ),
    ("feed-rerun", [], "`collections`", "--param collections=", "--submit"),
    (
        "feed-rerun",
        ["--param", "collections=c", "--param", "workflow=w", "--param", "limit=x"],
        "`limit`",
        "--param limit=",
        "--dry-run",
    ),
]


@pytest.mark.parametrize(("name", "flags", "field", "fix", "mode"), CASES)
def test_a_feeder_error_is_said_once(
    fresh: Path, name: str, flags: list[str], field: str, fix: str, mode: str
) -> None:
    done = feed_cli(fresh, "feed", name, *flags, "--process", "template.json", mode)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines  # once: no `[ERROR] ...` copy, no traceback
    line = lines[0]
    assert line.startswith("Error: ") and name in line and field in line and fix in line, line


def test_verbose_shows_the_traceback_but_not_the_error_twice(fresh: Path) -> None:
    done = feed_cli(fresh, "-v", "feed", "feed-stac-api", "--process", "template.json")
    assert done.returncode == 1
    assert "Traceback (most recent call last):" in done.stderr
    assert done.stderr.count("`url` (the STAC API's root) is required") == 1, done.stderr


def test_a_project_feeder_that_fails_is_named(fresh: Path) -> None:
    """A feeder whose own message does not name it gets its name in front."""
    folder = fresh / "feeders" / "broken-feed"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "definition.yml").write_text(
        "description: fails on purpose\nlambda:\n  handler: lambda_function.lambda_handler\n"
    )
    (folder / "lambda_function.py").write_text(
        "def lambda_handler(event, context=None):\n    return event['where']\n"
    )
    try:
        done = feed_cli(fresh, "feed", "broken-feed", "--param", "x=1", "--dry-run")
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == ["Error: feeder broken-feed: KeyError: 'where'"], lines
