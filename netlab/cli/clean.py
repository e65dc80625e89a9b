"""netlab clean: remove what killed runs left behind (by run id, from their journals)."""

from __future__ import annotations

from typing import Annotated

import typer

from netlab.cli.run import DaemonTimeout


def clean(
    run: Annotated[str | None, typer.Option("--run", help="clean only this run id")] = None,
    all_runs: Annotated[bool, typer.Option("--all", help="clean every dead run (the default)")] = False,
    daemon_timeout: DaemonTimeout = None,
) -> None:
    """Remove the objects of runs whose process is gone. Live runs are never touched."""
    from netlab import cleanup

    done = cleanup.clean(run, daemon_timeout=daemon_timeout)
    if not done:
        typer.echo("nothing to clean")
    for c in done:
        typer.echo(
            f"run {c.run}: removed {len(c.removed)} objects" + (": " + ", ".join(c.removed) if c.removed else "")
        )
