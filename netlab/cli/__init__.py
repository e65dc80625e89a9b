"""The `netlab` command: thin shells around library calls; exit codes are decided here only."""

from __future__ import annotations

import sys

import typer

from netlab.cli import clean as clean_cmd
from netlab.cli import list as list_cmd
from netlab.cli import run as run_cmd
from netlab.errors import NetlabError

app = typer.Typer(
    name="netlab",
    help="Make Docker's network drivers visible and testable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run")(run_cmd.run)
app.command("list")(list_cmd.list_scenarios)
app.command("clean")(clean_cmd.clean)


def main() -> None:
    try:
        app(standalone_mode=False)
    except NetlabError as e:
        print(f"netlab: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("netlab: interrupted; everything the run created was removed", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # click's usage errors
        import click

        if isinstance(e, click.exceptions.Abort):
            sys.exit(130)
        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(2)
        raise
