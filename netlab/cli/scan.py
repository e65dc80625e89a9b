"""netlab scan [--project NAME] [CONTAINER...]: the reachability matrix of containers that already run, measured
as they are (netlab/backends/docker/scan.py)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from netlab.cli.run import PREDICTED_HELP, CheckPredicted, Color, JsonOut, Timeout, Width, prepare, report


def scan(
    containers: Annotated[
        list[str] | None, typer.Argument(help="running containers to scan (names or ids), besides --project's")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="a compose project: its running containers, by label")
    ] = None,
    expect: Annotated[
        str | None,
        typer.Option("--expect", help="an expected-matrix file, with the services' (or containers') names"),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="print only the tables and the summary; exit 1 on a wrong cell" + PREDICTED_HELP),
    ] = False,
    check_predicted: CheckPredicted = False,
    json_file: JsonOut = None,
    html_file: Annotated[str | None, typer.Option("--html", help="write the HTML report to FILE")] = None,
    why: Annotated[
        bool,
        typer.Option(
            "--why",
            help="explain every X by tracing it in this machine's namespace, where Docker's rules are (never inside "
            "the containers)",
        ),
    ] = False,
    timeout: Timeout = 1.0,
    color: Color = None,
    width: Width = None,
) -> None:
    """Measure running containers without changing them: every ICMP pair, TCP to every port they listen on,
    expose or publish, every container's DNS name from each other container; with --expect, compared with
    your matrix. Nothing is created in the containers, their networks or the firewall."""
    from netlab import runner
    from netlab.options import RunOptions

    use_color = sys.stdout.isatty() if color is None else color
    options = RunOptions(backend="docker", expect=expect, json_file=json_file, html_file=html_file, timeout=timeout)
    options.check()
    prepare(options, clean_stale=False)
    result = runner.scan(
        project, containers or [], expect=expect, json_file=json_file, html_file=html_file, timeout=timeout, why=why
    )
    report(result, check, check_predicted, use_color, predicted=True, width=width)
