"""netlab explain SCENARIO: the scenario's story without deploying anything."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from netlab import loader
from netlab.report import explain as explain_report


def explain(
    scenario: Annotated[str, typer.Argument(help="bundled scenario name or path to a .py file")],
    commands: Annotated[
        bool, typer.Option("--commands/--no-commands", help="show the Docker and kernel commands of each step")
    ] = True,
) -> None:
    """Tell SCENARIO's story without deploying: the lecture's claims it checks, the topology, what gets
    built (with the commands), the stages and the predicted matrices."""
    sys.stdout.write(explain_report.render(loader.load(scenario), commands=commands))
