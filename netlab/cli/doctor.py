"""netlab doctor: what this machine can run, and what to install or load for the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from netlab.kernel.doctor import Finding


def doctor() -> None:
    """Report root, link kinds (tried in a scratch namespace), iptables, br_netfilter, Docker, user-mode Linux, the
    CNI plugins and Podman."""
    from netlab.kernel import doctor as checks

    found = checks.findings() + backend_findings()
    width = max(len(f.name) for f in found)
    for f in found:
        typer.echo(f"{f.name.ljust(width)}  {'yes' if f.ok else 'NO '}  {f.detail}")
    if any(f.essential and not f.ok for f in found):
        typer.echo("\nthe netns backend cannot run here: fix the essential items above", err=True)
        raise typer.Exit(3)


def backend_findings() -> list[Finding]:
    """The other engines' pieces: the CNI reference plugins (--backend cni) and Podman (--backend podman)."""
    from netlab.backends.cni import conflist, plugins
    from netlab.backends.docker import podman
    from netlab.errors import EnvironmentProblem
    from netlab.kernel.doctor import Finding

    types = sorted({t for chain in conflist.PLUGINS.values() for t in chain})
    try:
        where = plugins.plugin_dir(types)
        cni = Finding("CNI plugins", True, f"{', '.join(types)} in {where} (--backend cni)")
    except EnvironmentProblem as e:
        cni = Finding("CNI plugins", False, str(e))
    try:
        pod = Finding("podman", True, f"Podman {podman.version()} (--backend podman)")
    except EnvironmentProblem as e:
        pod = Finding("podman", False, str(e))
    return [cni, pod]
