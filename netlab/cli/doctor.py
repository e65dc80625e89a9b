"""netlab doctor: what this machine can run, and what to install or load for the rest."""

from __future__ import annotations

import typer


def doctor() -> None:
    """Report root, link kinds (tried in a scratch namespace), iptables, br_netfilter, Docker, user-mode Linux, the
    CNI plugins and Podman."""
    from netlab.backends import registry
    from netlab.kernel import doctor as checks

    found = checks.findings() + [checks.Finding(*piece) for piece in registry.engine_pieces()]
    width = max(len(f.name) for f in found)
    for f in found:
        typer.echo(f"{f.name.ljust(width)}  {'yes' if f.ok else 'NO '}  {f.detail}")
    if any(f.essential and not f.ok for f in found):
        typer.echo("\nthe netns backend cannot run here: fix the essential items above", err=True)
        raise typer.Exit(3)
