"""netlab list: the bundled scenarios."""

from __future__ import annotations

import typer

from netlab import loader


def list_scenarios() -> None:
    """List the bundled scenarios (run them with `netlab run NAME`)."""
    infos = loader.bundled()
    width = max((len(i.name) for i in infos), default=0)
    for info in infos:
        typer.echo(f"{info.name.ljust(width)}  {info.title}")
