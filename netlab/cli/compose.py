"""netlab compose FILE: a compose file's network topology, deployed and measured like a scenario."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from netlab.cli.run import (
    PREDICTED_HELP,
    BackendOpt,
    CheckPredicted,
    Color,
    JsonOut,
    Lang,
    Timeout,
    Width,
    prepare,
    report,
    use_language,
)


def compose(
    file: Annotated[str, typer.Argument(help="a compose file (docker-compose.yml, compose.yaml)")],
    project: Annotated[
        str | None, typer.Option("--project-name", "-p", help="the project name (default: as compose picks it)")
    ] = None,
    backend: BackendOpt = None,
    expect: Annotated[
        str | None,
        typer.Option("--expect", help="an expected-matrix file, with the services' names as written in the file"),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="print only the tables and the summary; exit 1 on a wrong cell" + PREDICTED_HELP),
    ] = False,
    check_predicted: CheckPredicted = False,
    json_file: JsonOut = None,
    html_file: Annotated[str | None, typer.Option("--html", help="write the HTML report to FILE")] = None,
    why: Annotated[bool, typer.Option("--why", help="explain every X (nftables trace)")] = False,
    keep_subnets: Annotated[
        bool,
        typer.Option(
            "--keep-subnets",
            help="use the file's subnets as written (default: those outside 198.18.0.0/15 are moved into it); "
            "refused where a route of this machine overlaps one",
        ),
    ] = False,
    timeout: Timeout = 1.0,
    color: Color = None,
    width: Width = None,
    lang: Lang = None,
) -> None:
    """Run FILE's networks and services as a scenario: every ICMP pair, every published or exposed port from every
    other endpoint, every service name from every container; with --expect, compared with your matrix."""
    from netlab import compose as importer
    from netlab import runner
    from netlab.options import RunOptions

    use_language(lang)
    use_color = sys.stdout.isatty() if color is None else color
    imported = importer.load(file, project, keep_subnets=keep_subnets)
    options = RunOptions(
        backend=backend, expect=expect, json_file=json_file, html_file=html_file, why=why, timeout=timeout
    )
    options.check()
    options = options.resolved()
    prepare(options, clean_stale=False)
    for note in imported.notes:
        print(f"netlab compose: {note}", file=sys.stderr)
    result = runner.run(imported.scenario, options)
    report(result, check, check_predicted, use_color, predicted=True, width=width)
