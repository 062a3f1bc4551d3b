"""Usage errors exit 2 with one line; an unusable file is one message naming it and the fix;
output files follow one rule (issue 9, items 6, 7 and 8). Never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

Cirro = Any  # the `cirro` fixture of conftest.py: run_cirro(project, *args)


def one_line_error(result: Any) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return str(lines[0])


@pytest.mark.parametrize("since", ["1x", "yesterday", "-1d", "1.5h"])
@pytest.mark.parametrize("command", [("query",), ("rerun", "--dry-run"), ("rerun",)])
def test_a_bad_since_is_a_usage_error(
    ran: Path, cirro: Cirro, since: str, command: tuple[str, ...]
) -> None:
    result = cirro(ran, *command, "--since", since)
    assert result.returncode == 2
    line = one_line_error(result)
    assert since in line and "10m, 8h, 2d, 1w" in line


@pytest.mark.parametrize(
    "args",
    [
        ("query", "--nextkey", "not-a-key"),
        ("query", "--limit", "0"),
        ("deadletters", "list", "--limit", "0"),
        ("deadletters", "redrive", "nosuchid"),
        ("deadletters", "purge", "--yes", "abc"),
        ("deadletters", "purge"),  # no terminal to confirm on: needs --yes
        ("serve", "--concurrency", "0"),
        ("payload", "get", "x", "-f", "/"),
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_exit_2_on_one_line(ran: Path, cirro: Cirro, args: tuple[str, ...]) -> None:
    result = cirro(ran, *args)
    assert result.returncode == 2
    one_line_error(result)


@pytest.mark.parametrize("name", ["state.db", "intake.db", "history.db"])
def test_a_garbage_database_is_one_message(project: Path, cirro: Cirro, name: str) -> None:
    db = project / ".cirro" / name
    for extra in project.joinpath(".cirro").glob(name + "-*"):
        extra.unlink()  # WAL files of the good database
    db.write_bytes(b"this is not a database\n" * 200)
    for args in (("run", str(project / "p.json")), ("query",), ("deadletters", "list")):
        if name != "state.db" and args == ("query",):
            continue  # query opens only the state database
        if name != "intake.db" and args == ("deadletters", "list"):
            continue  # ... and deadletters only the intake
        result = cirro(project, *args)
        assert result.returncode == 1, (args, result.stderr)
        line = one_line_error(result)
        assert str(db) in line and "move it aside" in line


def test_payload_get_file_creates_folders_like_task_run(project: Path, cirro: Cirro) -> None:
    pid = "test-collection/workflow-mirror/q1"
    target = project / "out" / "deeper" / "input.json"
    result = cirro(project, "payload", "get", pid, "-f", str(target))
    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text())["process"]["workflow"] == "mirror"


@pytest.mark.parametrize("command", ["payload get", "task run"])
def test_an_output_path_under_a_file_is_a_usage_error(
    project: Path, cirro: Cirro, command: str
) -> None:
    blocker = project / "a-file"
    blocker.write_text("")
    target = str(blocker / "sub" / "x.json")
    if command == "payload get":
        args = ["payload", "get", "test-collection/workflow-mirror/q1", "-f", target]
    else:
        single = project / "one.json"
        single.write_text(json.dumps(json.loads((project / "p.json").read_text())[0]))
        args = ["task", "run", "mirror", str(single), "-o", target]
    result = cirro(project, *args)
    assert result.returncode == 2
    line = one_line_error(result)
    assert target in line and f"{blocker} is a file, not a folder" in line


def test_task_run_output_creates_folders(project: Path, cirro: Cirro) -> None:
    single = project / "one.json"
    single.write_text(json.dumps(json.loads((project / "p.json").read_text())[0]))
    target = project / "new" / "folder" / "out.json"
    result = cirro(project, "task", "run", "mirror", str(single), "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text())["features"][0]["id"] == "q1"


def test_damage_found_mid_query_names_the_file(project: Path, cirro: Cirro) -> None:
    """A state.db whose header and schema are fine but whose records are not: SQLite says
    only "malformed" from inside a query, and the message still names the file."""
    import sqlite3

    db = project / ".cirro" / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = [
            row[0]
            for row in conn.execute(
                "SELECT rootpage FROM sqlite_schema WHERE tbl_name = 'records' AND rootpage > 0"
            )
        ]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with db.open("r+b") as fh:
        for page in pages:
            fh.seek((page - 1) * size)
            fh.write(b"\xff" * size)
    result = cirro(project, "query")
    assert result.returncode == 1
    line = one_line_error(result)
    assert f"{db}: damaged" in line and "move it aside" in line
