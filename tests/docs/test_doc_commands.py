"""The commands in README.md and docs/*.md run as written, in order, on a fresh machine.

A page marks a shell block to be run with an HTML comment on the line before its fence:

    <!-- run -->
    ```sh
    cirro init my-pipeline && cd my-pipeline
    cirro run bad.json                       # fails on purpose (exit 1)
    ```

Every marked block of a page runs, in page order, in one fresh temporary folder, command by
command (a line; a trailing `\\` continues it) through bash, with this venv's `bin/` first on
PATH. The working directory and exported variables carry over from one command to the next,
as in a terminal. Each command must exit 0, unless its trailing comment says `(exit N)`.
Unmarked blocks are not run: use them for illustrations with placeholders. On the pages in
FULLY_RUN every ```sh block must be marked `<!-- run -->`, or `<!-- not run: WHY -->` when it
runs as written but not in a fresh folder (e.g. `make test`, which is the suite itself).

Pages in AWS_PAGES deploy: their blocks run with AWS credentials and AWS_ENDPOINT_URL pointing
at an AWS emulator on loopback (aws_emulator.py: moto's server, three gaps closed), so their
`cirro deploy` / `submit --deployment` / `remove` are exactly what a reader types.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FULLY_RUN = ["README.md", "docs/asl.md", "docs/project.md", "docs/tasks.md"]
"""Pages whose every ```sh block runs as written (others may still run some marked blocks)."""
AWS_PAGES = ["docs/tasks.md"]
"""Pages whose blocks run against the AWS emulator (they deploy)."""
MARKER = "<!-- run -->"
NOT_RUN = "<!-- not run:"
COMMAND_TIMEOUT_S = 180
_EXPECT = re.compile(r"#.*\(exit (\d+)\)\s*$")
_FENCE = re.compile(r"^\s*```(\S*)\s*$")
_STATE_FILTER = re.compile(r"^declare -x (PWD|OLDPWD|SHLVL|_)=")


@dataclass(frozen=True)
class Command:
    """One command of a marked block: its text, where it is, the exit code it must give."""

    text: str
    line: int
    expect: int = 0


@dataclass(frozen=True)
class Block:
    language: str
    line: int
    marked: bool
    body: list[str]
    exempt: bool = False
    """Marked `<!-- not run: WHY -->`: runs as written, elsewhere (say why)."""


def blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown page, with its language and whether it is marked."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        before = [line.strip() for line in lines[:i] if line.strip()]
        marked = bool(before) and before[-1] == MARKER
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i])
            i += 1
        exempt = bool(before) and before[-1].startswith(NOT_RUN) and before[-1].endswith("-->")
        found.append(Block(opening.group(1), start + 1, marked, body, exempt))
        i += 1
    return found


def commands(block: Block) -> list[Command]:
    """The commands of a block: one per line, `\\`-continued lines joined, comments skipped."""
    found: list[Command] = []
    pending: list[str] = []
    first = 0
    for offset, raw in enumerate(block.body):
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not pending:
            first = block.line + 1 + offset
        if line.endswith("\\"):
            pending.append(line)  # bash joins it with the next line, as in a terminal
            continue
        pending.append(line)
        text = "\n".join(pending)
        expect = _EXPECT.search(line)
        found.append(Command(text, first, int(expect.group(1)) if expect else 0))
        pending = []
    if pending:
        raise ValueError(f"block at line {block.line}: the last command ends with '\\'")
    return found


def page_commands(page: Path) -> list[Command]:
    return [
        command
        for block in blocks(page.read_text(encoding="utf-8"))
        if block.marked
        for command in commands(block)
    ]


def _environment(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CIRRUS_", "CIRRO_", "PYTEST_", "COV_", "AWS_"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["HOME"] = str(home)
    env["COLUMNS"] = "120"
    env.pop("VIRTUAL_ENV", None)
    return env


@contextmanager
def aws_environment() -> Iterator[dict[str, str]]:
    """What a reader's shell has for the AWS part of a page: credentials, a region, and here
    the emulator's endpoint (boto3 honours AWS_ENDPOINT_URL). Deploy builds without pip
    (CIRRO_DEPLOY_NO_VENDOR): the test has no network to fetch the lambdas' requirements."""
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from aws_emulator import aws_emulator
    finally:
        sys.path.remove(str(Path(__file__).parent))
    with aws_emulator() as url:
        yield {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-west-2",
            "CIRRO_DEPLOY_NO_VENDOR": "1",
        }


def run_commands(
    page: Path, found: list[Command], workdir: Path, extra_env: dict[str, str] | None = None
) -> None:
    """Run `found` in `workdir` as a user would type them; fail naming the page and line."""
    workdir.mkdir(parents=True, exist_ok=True)
    state = workdir.parent / f".{workdir.name}-shell"
    state.mkdir(exist_ok=True)
    cwd_file, env_file = state / "cwd", state / "env"
    cwd_file.write_text(str(workdir))
    env_file.write_text("")
    env = _environment(workdir.parent / f".{workdir.name}-home")
    Path(env["HOME"]).mkdir(exist_ok=True)
    env.update(extra_env or {})
    for command in found:
        script = (
            f'cd "$(cat {cwd_file})" && . {env_file}\n'
            f"{command.text}\n"
            "__status=$?\n"
            f"pwd > {cwd_file}\n"
            f"export -p | grep -Ev '{_STATE_FILTER.pattern}' > {env_file}\n"
            "exit $__status\n"
        )
        shown = page.relative_to(ROOT) if page.is_relative_to(ROOT) else page.name
        where = f"{shown}:{command.line}: {command.text}"
        try:
            result = subprocess.run(
                ["bash", "-c", script],
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"{where}\n  did not finish in {COMMAND_TIMEOUT_S} s")
        if result.returncode != command.expect:
            pytest.fail(
                f"{where}\n  exited {result.returncode}, expected {command.expect}\n"
                f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
            )


RUN_PAGES = [page for page in PAGES if page_commands(page)]


@pytest.mark.parametrize("page", RUN_PAGES, ids=[str(p.relative_to(ROOT)) for p in RUN_PAGES])
def test_page_commands_run_as_written(page: Path, tmp_path: Path) -> None:
    deploys = str(page.relative_to(ROOT)) in AWS_PAGES
    with aws_environment() if deploys else nullcontext({}) as extra_env:
        run_commands(page, page_commands(page), tmp_path / "work", extra_env)


@pytest.mark.parametrize("name", FULLY_RUN)
def test_every_shell_block_of_the_page_runs(name: str) -> None:
    """On these pages a ```sh block is a promise that it runs: it must be marked."""
    unmarked = [
        block.line
        for block in blocks((ROOT / name).read_text(encoding="utf-8"))
        if block.language in ("sh", "bash", "shell") and not (block.marked or block.exempt)
    ]
    assert unmarked == [], (
        f"{name}: the ```sh blocks at lines {unmarked} are not run by this test; mark them "
        f"with {MARKER} on the line before (or {NOT_RUN} WHY -->), or fence an illustration "
        "as ``` or ```console"
    )


def test_aws_pages_deploy_as_a_reader_would() -> None:
    """A page run against the emulator must exist and deploy with the reader's own command:
    no emulator-only flag (`--skip-unsupported`) in what it runs."""
    for name in AWS_PAGES:
        deploys = [c.text for c in page_commands(ROOT / name) if c.text.startswith("cirro deploy")]
        assert deploys, f"{name} runs no `cirro deploy`"
        flags = ("--skip-unsupported", "--no-vendor")
        assert not [t for t in deploys if any(f in t for f in flags)], name


def test_readme_minute_is_run() -> None:
    assert any("cirro run" in c.text for c in page_commands(ROOT / "README.md"))


def test_extraction_rules(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\nnot run\n```\n"
        "<!-- run -->\n```sh\n# a comment\necho one   # first\n\n"
        "printf '%s' \\\n   two\nfalse       # fails on purpose (exit 1)\n```\n"
        "text\n```console\n$ also not run\n```\n"
        "<!-- not run: the suite itself -->\n```sh\nmake test\n```\n"
    )
    found = page_commands(page)
    assert [(c.text, c.line, c.expect) for c in found] == [
        ("echo one   # first", 7, 0),
        ("printf '%s' \\\n   two", 9, 0),
        ("false       # fails on purpose (exit 1)", 11, 1),
    ]
    assert [(b.marked, b.exempt) for b in blocks(page.read_text())] == [
        (False, False),
        (True, False),
        (False, False),
        (False, True),
    ]


def test_state_carries_over_and_exit_codes_are_checked(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- run -->\n```sh\nmkdir sub && cd sub\nexport GREETING=hi\n"
        'test "$GREETING" = hi && test "$(basename "$PWD")" = sub\n'
        "cirro --version\nexit 3   # (exit 3)\n```\n"
    )
    run_commands(page, page_commands(page), tmp_path / "work")
    assert (tmp_path / "work" / "sub").is_dir()
    page.write_text("<!-- run -->\n```sh\ntrue\nfalse\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"page.md:4: false\n  exited 1, expected 0"):
        run_commands(page, page_commands(page), tmp_path / "other")
