"""The `netlab` command: thin shells around library calls; exit codes are decided here only."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from netlab import i18n
from netlab.cli import clean as clean_cmd
from netlab.cli import compare as compare_cmd
from netlab.cli import compare_engines as compare_engines_cmd
from netlab.cli import compose as compose_cmd
from netlab.cli import doctor as doctor_cmd
from netlab.cli import explain as explain_cmd
from netlab.cli import image as image_cmd
from netlab.cli import kept as kept_cmd
from netlab.cli import list as list_cmd
from netlab.cli import run as run_cmd
from netlab.cli import scan as scan_cmd
from netlab.cli import why as why_cmd
from netlab.errors import Interrupted, NetlabError


def _click_exception() -> type[Exception]:
    """typer >= 0.25 vendors click as typer._click (and no longer depends on click); older typer uses click."""
    try:
        module = importlib.import_module("typer._click.exceptions")
    except ImportError:
        module = importlib.import_module("click.exceptions")
    exc: type[Exception] = module.ClickException
    return exc


CLICK_EXCEPTION = _click_exception()

app = typer.Typer(
    name="netlab",
    help="Make Docker's network drivers visible and testable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help, as on a projector and in a log; and rich (0.1 s to import) stays unloaded
)
app.command("run")(run_cmd.run)
app.command("list")(list_cmd.list_scenarios)
app.command("explain")(explain_cmd.explain)
app.command("compare")(compare_cmd.compare)
app.command("compare-engines")(compare_engines_cmd.compare_engines)
app.command("compose")(compose_cmd.compose)
app.command("scan")(scan_cmd.scan)
app.command("clean")(clean_cmd.clean)
app.command("doctor")(doctor_cmd.doctor)
app.command("image")(image_cmd.image)
app.command("why")(why_cmd.why)
app.command("ps")(kept_cmd.ps)
app.command("shell")(kept_cmd.shell)
app.command("exec")(kept_cmd.exec_)
app.command("capture")(kept_cmd.capture)


def main() -> None:
    i18n.use()  # the environment's language (LANG=ru_RU.UTF-8: Russian); a command's --lang may change it
    try:
        # standalone_mode=False: click returns the exit code (typer.Exit, 130 for Ctrl-C) instead of exiting
        rc = app(args=run_cmd.predicted_argv(sys.argv[1:]), standalone_mode=False)
    except NetlabError as e:
        print(f"netlab: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, Interrupted) as e:
        rc = 143 if isinstance(e, Interrupted) else 130
    except CLICK_EXCEPTION as e:
        e.show()  # type: ignore[attr-defined]
        sys.exit(2)
    code = rc if isinstance(rc, int) else 0
    if code in (130, 143):
        print("netlab: interrupted; everything the run created was removed", file=sys.stderr)
    sys.exit(code)


def console() -> None:
    """The `netlab` command: main(), then leave without tearing the interpreter down.

    Everything netlab creates is removed explicitly before main() returns (the run's finally blocks,
    journals, pcaps and JSON written and closed), so what is left at exit is the interpreter freeing
    its own modules: about 0.1 s once pyroute2 is loaded (more with scapy's layers, after `--pcap`).
    """
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
