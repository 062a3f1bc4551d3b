"""The `cirro` command line.

Commands load lazily: `cirro --help` and `cirro show` never import the engine, boto3 or
FastAPI. Each command family lives in its own module under `cirrostratus.cli` and is named
in `COMMANDS` as `module:attribute`; adding a family means adding one line here.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from cirrostratus.cli.errors import CliError

# name -> "module:attribute" (the module is relative to cirrostratus.cli)
COMMANDS: dict[str, str] = {
    "init": "scaffold:init",
    "create": "scaffold:create",
    "show": "show:show",
    "validate": "validate:validate",
    "workflow": "workflow:workflow",
    "task": "task:task",
    "run": "run:run",
    "serve": "serve:serve",
    "submit": "submit:submit",
    "payload": "payload:payload",
    "query": "query:query",
    "rerun": "rerun:rerun",
    "deadletters": "deadletters:deadletters",
    "feed": "feed:feed",
    "clean": "clean:clean",
    "api": "api:api",
    "build": "build:build",
    "deploy": "deploy:deploy",
    "remove": "deploy:remove",
    "deployments": "deployments:deployments",
}


class AliasedGroup(click.Group):
    """A click group that accepts any unique prefix of a command name, as Cirrus does."""

    def resolve_prefix(self, ctx: click.Context, cmd_name: str) -> str | None:
        names = self.list_commands(ctx)
        if cmd_name in names:
            return cmd_name
        matches = [n for n in names if n.startswith(cmd_name)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ctx.fail(
                f"'{cmd_name}' is ambiguous. Did you mean any of these: {', '.join(sorted(matches))}?"
            )
        return None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = self.resolve_prefix(ctx, cmd_name)
        return None if name is None else super().get_command(ctx, name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        _, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else None), cmd, rest


class LazyGroup(AliasedGroup):
    """The root group: subcommands are imported only when they are invoked or listed in help."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = self.resolve_prefix(ctx, cmd_name)
        if name is None:
            return None
        if name in self.commands:
            return self.commands[name]
        module_name, attr = COMMANDS[name].split(":")
        try:
            module = importlib.import_module(f"cirrostratus.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("cirrostratus.cli"):
                return _not_yet(name)
            raise
        command: click.Command = getattr(module, attr)
        return command


def _not_yet(name: str) -> click.Command:
    @click.command(name=name, help="(not available in this build)")
    def missing() -> None:
        raise CliError(f"'cirro {name}' is not available in this build of cirrostratus.")

    return missing


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging; repeat for more (-vv is DEBUG).")
@click.option(
    "--project",
    "project_dir",
    envvar="CIRRUS_DIR",
    type=click.Path(file_okay=False),
    help="The Cirrus project directory (default: the nearest parent holding cirrus.yml; env CIRRUS_DIR).",
)
@click.version_option(package_name="cirrostratus", prog_name="cirro")
@click.pass_context
def cli(ctx: click.Context, verbose: int, project_dir: str | None) -> None:
    """Run Cirrus STAC pipelines on this machine, from an unchanged Cirrus project.

    Tasks run as Lambda-style handlers or Batch jobs in local processes, workflows through a
    local Step Functions (ASL) interpreter, state in .cirro/ (SQLite and folders).
    """
    level = max(logging.WARNING - 10 * verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    ctx.ensure_object(dict)
    ctx.obj["project_dir"] = project_dir
    ctx.obj["verbose"] = verbose


#: click >= 8.2 raises this for a group given no command (older versions print help themselves)
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: turns our errors into clean messages and exit codes, never tracebacks."""
    try:
        rv = cli.main(args=argv, prog_name="cirro", standalone_mode=False)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        return rv
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except _NO_ARGS_IS_HELP as exc:  # `cirro payload`: the help is the answer, not an error
        click.echo(exc.format_message(), err=True)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # one line, like every other error: the problem, then where help is
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.secho(f"Error: {exc.format_message()}{where}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CliError as exc:
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        message = _unusable_file(exc) or _aws_error(exc)
        if message is None:
            raise
        click.secho(f"Error: {message}", fg="red", err=True)
        sys.exit(1)


def _aws_error(exc: Exception) -> str | None:
    """An error boto3 raised (credentials, permissions, a resource that is gone): one line."""
    from cirrostratus.cli.deployments import aws_error_message

    return aws_error_message(exc)


def _unusable_file(exc: Exception) -> str | None:
    """The message of a local database (state.db, intake.db, history.db) that cannot be opened
    or used; it already names the file and the fix (move it aside), so it is all users see.

    The backends raise these from deep inside any command; catching them here, once, keeps
    every command free of the same try/except. Anything else is a bug and keeps its traceback.
    """
    import sqlite3

    from cirrostratus.intake.model import IntakeError
    from cirrostratus.sqlitedb import DatabaseError

    if isinstance(exc, DatabaseError | IntakeError):
        return str(exc)
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.OperationalError):
        return None
    # damage SQLite found past the header, mid-query ("database disk image is malformed")
    from cirrostratus.cli.local import damaged_databases

    files = damaged_databases()
    if not files:
        return None
    names = " and ".join(str(f) for f in files)
    return (
        f"{names}: damaged ({exc}); move {'them' if len(files) > 1 else 'it'} aside "
        "and a new, empty one is created (what it recorded is lost)"
    )
