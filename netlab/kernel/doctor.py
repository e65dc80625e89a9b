"""What this machine can run, found by trying (link kinds in a scratch namespace) rather than guessing."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from netlab.kernel import features, uml
from netlab.kernel.hoststate import firewall_flavour


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    ok: bool
    detail: str
    essential: bool = False  # without it the netns backend cannot run at all


def docker_version(timeout: float = 3.0) -> tuple[str | None, str]:
    """(version, detail) of the Docker daemon answering on the default socket, if any."""
    try:
        import docker
    except ImportError:
        return None, "the docker Python package is not installed"
    try:
        client = docker.from_env(timeout=timeout)
        try:
            version = str(client.version().get("Version"))
        finally:
            client.close()
    except Exception as e:  # DockerException, connection refused, timeouts
        return None, f"no daemon answers ({type(e).__name__}); start dockerd or use --backend netns"
    return version, f"Docker Engine {version} answers on the default socket"


def findings() -> list[Finding]:
    out = [Finding("root", os.geteuid() == 0, "running as root" if os.geteuid() == 0 else "run netlab as root", True)]
    kinds = features.link_kinds() if os.geteuid() == 0 else {k: "needs root to try" for k in features.KINDS}
    for kind in features.KINDS:
        err = kinds.get(kind, "not probed")
        detail = "created one in a scratch namespace" if not err else f"{err}; {features.REMEDY[kind]}"
        out.append(Finding(f"link kind {kind}", not err, detail, kind in ("bridge", "veth")))
    flavour = firewall_flavour()
    out.append(
        Finding(
            "iptables",
            shutil.which("iptables-restore") is not None,
            f"{flavour} (what Docker's rules are written with)"
            if shutil.which("iptables-restore")
            else "not installed: apt-get install iptables",
            True,
        )
    )
    loadable, detail = features.br_netfilter_status()
    out.append(Finding("br_netfilter", loadable, detail, True))  # essential only where it cannot be loaded
    limit = features.neighbour_limit()
    out.append(
        Finding(
            "neighbour table",
            limit is not None,
            f"gc_thresh3 = {limit} entries shared by every namespace (a full matrix of k endpoints on one "
            f"segment needs about k*(k-1); up to {int((limit or 0) ** 0.5)} endpoints per segment fit)",
        )
    )
    version, detail = docker_version()
    out.append(Finding("docker daemon", version is not None, detail))
    missing = uml.available()
    out.append(
        Finding(
            "user-mode Linux",
            not missing,
            missing if missing else f"{uml.kernel_binary()} with modules in {uml.module_dir()} (--kernel uml)",
        )
    )
    return out
