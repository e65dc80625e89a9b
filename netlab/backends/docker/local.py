"""The Docker daemon of this machine, as far as the netns backend's defaults need it: which version answers on
the default socket, with which firewall backend, FORWARD policy, userland proxy and ip6tables. Read only: one API call
with a short timeout, the daemon's command line and configuration, `iptables -S FORWARD` of the root
namespace. Nothing answers (no daemon, another DOCKER_HOST, a hung one): None, and the netns backend takes
Docker's own defaults."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from netlab.backends.docker import daemonconfig

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True, slots=True)
class LocalDaemon:
    version: str  # "20.10.24"
    firewall_backend: str  # iptables | nftables
    forward_policy: str | None  # the root namespace's FORWARD policy (ACCEPT | DROP), None if unreadable
    userland_proxy: bool
    ip6tables: str | None = None  # on | off: whether it writes IPv6 rules (daemonconfig.ip6tables)


def answering(timeout: float = 2.0) -> LocalDaemon | None:
    if os.environ.get("DOCKER_HOST") not in (None, "", DEFAULT_SOCKET):
        return None  # another engine: not this machine's
    if not os.path.exists(DEFAULT_SOCKET.removeprefix("unix://")):
        return None
    try:
        import docker

        client = docker.DockerClient(base_url=DEFAULT_SOCKET, timeout=timeout)
        try:
            version = str(client.version().get("Version", ""))
            info = client.info()
        finally:
            client.close()
    except Exception:  # the SDK raises many kinds (connection, timeout, API): any of them means "none answers"
        return None
    if not version:
        return None
    firewall = (info.get("FirewallBackend") or {}).get("Driver") or "iptables"  # API 1.49+; 20.10 has none
    options = daemonconfig.read(daemonconfig.pid_of_local_daemon())
    return LocalDaemon(
        version=version,
        firewall_backend="nftables" if "nftables" in firewall else "iptables",
        forward_policy=_root_forward_policy(),
        userland_proxy=options.get("userland-proxy", "true") == "true",
        ip6tables=daemonconfig.ip6tables(options, version),
    )


def _root_forward_policy() -> str | None:
    tool = shutil.which("iptables")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool, "-S", "FORWARD"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        parts = line.split()
        if parts[:2] == ["-P", "FORWARD"] and len(parts) == 3:
            return parts[2]
    return None
