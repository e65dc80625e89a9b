"""netlab list: the bundled scenarios."""

from __future__ import annotations

import typer


def list_scenarios() -> None:
    """List the bundled scenarios (run them with `netlab run NAME`)."""
    from netlab import loader

    infos = loader.bundled()
    width = max((len(i.name) for i in infos), default=0)
    for info in infos:
        typer.echo(f"{info.name.ljust(width)}  {info.title}")
