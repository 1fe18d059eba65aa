"""The `flowaudit` command line. Each command group lives in its own module of this package."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from flowaudit import __version__

# Exit codes (documented in the README): 0 success; 1 findings at or above --fail-on (report);
# 2 usage error; 3 unreadable or malformed input; 4 storage error; 70 internal error.
EXIT_FINDINGS = 1
EXIT_INPUT = 3
EXIT_STORAGE = 4
EXIT_INTERNAL = 70

COMMAND_MODULES = ("ingest", "signatures", "declare", "report", "proxy", "serve")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="flowaudit")
@click.option("--debug", is_flag=True, help="Show full tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """flowaudit: see what a mobile app really sends, which SDK sends it, and where that departs
    from the app's published SDK list and collected-personal-information list.

    Every command that touches the database takes --db (a file path or any SQLAlchemy URL;
    default: $FLOWAUDIT_DB, else ./flowaudit.db).
    """
    ctx.obj = {"debug": debug}
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


for _name in COMMAND_MODULES:
    _module = importlib.import_module(f"flowaudit.cli.{_name}")
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    try:
        # without standalone mode click returns ctx.exit(n)'s code instead of exiting
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - one line for the user, traceback only with --debug
        if "--debug" in sys.argv or os.environ.get("FLOWAUDIT_DEBUG"):
            raise
        click.echo(f"flowaudit: internal error: {exc.__class__.__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''} "
                   "(run with --debug for details)", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
