"""netlab explain SCENARIO: the scenario's story without deploying anything."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from netlab.cli.run import Lang, Width, use_language
from netlab.report import fit


def explain(
    scenario: Annotated[str, typer.Argument(help="bundled scenario name or path to a .py file")],
    commands: Annotated[
        bool, typer.Option("--commands/--no-commands", help="show the Docker and kernel commands of each step")
    ] = True,
    svg: Annotated[str | None, typer.Option("--svg", help="also draw the topology into FILE (SVG, Graphviz)")] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            "-b",
            help="netns, docker, podman (Docker's story, the default) or cni (also each network's CNI plugin chain)",
        ),
    ] = "docker",
    width: Width = None,
    lang: Lang = None,
) -> None:
    """Tell SCENARIO's story without deploying: the lecture's claims it checks, the topology, what gets
    built (with the commands), the stages and the predicted matrices."""
    from netlab import loader
    from netlab.errors import UsageError
    from netlab.report import explain as explain_report
    from netlab.report.files import check_output, write_output

    use_language(lang)
    if backend not in ("netns", "docker", "cni", "podman"):
        raise UsageError(f"--backend {backend}: explain tells a scenario for netns, docker, podman or cni")
    topology = loader.load(scenario)
    if svg:
        check_output(svg, needs_graphviz=True)
    sys.stdout.write(fit.fit(explain_report.render(topology, commands=commands, backend=backend), fit.width(width)))
    if svg:
        from netlab.report import diagram

        write_output(svg, diagram.svg(diagram.dot_source(topology)))
