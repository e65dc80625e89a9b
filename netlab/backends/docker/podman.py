"""Podman as the engine (`--backend podman`): the docker backend's private mode with Podman's Docker-compatible
service (`podman system service`) in each node's namespace instead of a dockerd.

The service is started as the private dockerds are (daemons.prepare/launch: journalled directories and pid, the
run's cgroup) with everything of its own inside the run: its storage and run root under the node's exec root
(/run/nl/<run>-<node>), its CNI configuration directory there too, a containers.conf there that names the run's
resolver, the CNI network backend (Debian's podman without netavark), the cgroupfs manager and a default network
inside netlab's pool. It runs in a mount namespace of its own with a tmpfs over /var/lib and /run/netns: Podman
writes the CNI plugins' leases and cache under /var/lib/cni and binds each container's namespace under /run/netns
whatever its flags say, and none of that may land on the machine. Its CNI plugins write their bridges and rules in
the node's namespace, removed with it. Containers are created with the run's cgroup parent (their conmon lands
below it too: teardown and `netlab clean` end them by cgroup) and with the service's own resource limits (Podman
raises RLIMIT_NOFILE and RLIMIT_NPROC for root containers, which a machine without CAP_SYS_RESOURCE refuses).

What Podman's Docker API does not do is refused before anything is made (exit 3, `refusal`): overlay networks
(no swarm), Docker's daemon options, DOCKER-USER rules, external networks, and the network options its compat
layer drops without a word (enable_icc, masquerade, host_binding_ipv4...), which would otherwise measure Docker's
defaults under the scenario's name. Facts name Podman and its version; the scenario's conditions on Docker's
version (`when={"engine": ...}`) are Docker's only, not judged on it (verdict.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from netlab.backends import cgroups
from netlab.backends.docker import daemons
from netlab.backends.docker.daemons import PrivateDaemon
from netlab.backends.journal import Journal
from netlab.errors import EnvironmentProblem
from netlab.model.topology import MODE_OPTIONS, Driver, Topology, UserRule

KIND = "podman"
PACKAGES = "apt-get install --no-install-recommends podman (Debian's podman 4.3 with conmon, runc or crun, and CNI)"
#: the network options Podman's compat API honours (pkg/api/handlers/compat/networks.go, 4.3.1): every other one
#: is dropped with a warning in the response, so a run would measure Docker's default under the option's name
HONOURED_OPTIONS = {"com.docker.network.bridge.name", "com.docker.network.driver.mtu", "mtu", "parent"}
#: Docker's mode options, which Podman takes as `mode` (podman_backend renames them)
MODES = tuple(option for option, _default in MODE_OPTIONS.values())
#: the drivers its CNI backend creates (containers/common libnetwork/cni/config.go)
DRIVERS = {Driver.BRIDGE, Driver.MACVLAN, Driver.IPVLAN, Driver.HOST, Driver.NONE}
#: what runs first in the service's own mount namespace: tmpfs over /var/lib and /run/netns (see the module doc),
#: then podman, by its argv (one fixed line, as cgroups.enter_argv's trampoline: no shell, nothing of the scenario's)
PRIVATE_MOUNTS = (
    "import os,subprocess,sys; "
    "[subprocess.run(['mount','-t','tmpfs','-o','mode=0755','netlab-podman',d],check=True) for d in sys.argv[1:3]]; "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


def missing_tools() -> list[str]:
    return [tool for tool in ("podman", "conmon", "nsenter", "unshare") if shutil.which(tool) is None] + (
        [] if shutil.which("runc") or shutil.which("crun") else ["runc or crun"]
    )


def refusal(t: Topology) -> str:
    """Why Podman's Docker API cannot run the scenario as Docker would ('' when it can)."""
    for net in t.networks:
        if net.driver not in DRIVERS:
            return f"network {net.name!r}: Podman has no {net.driver.value} driver (Docker's swarm networking)"
        if net.external:
            return f"network {net.name!r}: external networks are the machine's Docker daemon's, not Podman's"
        dropped = sorted(k for k in net.options if k not in HONOURED_OPTIONS and k not in MODES)
        if dropped:
            return (
                f"network {net.name!r}: Podman's Docker API drops the option {dropped[0]} without applying it (it "
                "would measure Docker's default under the scenario's name)"
            )
    if t.daemon:
        return f"the scenario sets Docker daemon options ({' '.join(t.daemon_flags())}), which Podman has not"
    if any(isinstance(a, UserRule) for stage in t.stages for a in stage.actions):
        return "DOCKER-USER rules (docker_user) are Docker's chain; Podman writes none"
    return ""


def version() -> str:
    """`podman --version` of this machine ('podman version 4.3.1' -> '4.3.1')."""
    try:
        out = subprocess.run(["podman", "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise EnvironmentProblem(f"podman does not answer `podman --version` ({e}): {PACKAGES}") from e
    return out.split()[-1] if out.split() else "?"


def start(
    run: str,
    node: str,
    index: int,
    netns: str,
    resolver: IPv4Address | None,
    journal: Journal,
    timeout: float,
    default: IPv4Network | None = None,
) -> PrivateDaemon:
    """Podman's service for node `node`, in `netns`; the client returned with it speaks Docker's API. `default`: the
    subnet of its default network (what the scenario's `bridge` is numbered with; else a /24 of the node's own)."""
    missing = missing_tools()
    if missing:
        raise EnvironmentProblem(f"--backend podman needs {', '.join(missing)}: {PACKAGES}")
    d, cgroup = daemons.prepare(run, node, netns, journal)
    bip, _ = daemons.addressing(run, index)
    for sub in ("storage", "libpod", "tmp", "net.d"):
        os.makedirs(os.path.join(d.exec_root, sub), mode=0o700, exist_ok=True)
    conf = os.path.join(d.exec_root, "containers.conf")
    with open(conf, "w") as f:
        f.write(_containers_conf(resolver, default or IPv4Network(bip, strict=False)))
    env = dict(os.environ, CONTAINERS_CONF=conf, TMPDIR=os.path.join(d.exec_root, "tmp"))
    argv = [
        str(shutil.which("nsenter")),
        f"--net={netns}",
        str(shutil.which("unshare")),
        "--mount",
        "--propagation",
        "private",
        sys.executable,
        "-S",
        "-c",
        PRIVATE_MOUNTS,
        "/var/lib",
        "/run/netns",
        str(shutil.which("podman")),
        "--root",
        os.path.join(d.exec_root, "storage"),
        "--runroot",
        d.exec_root,
        "--tmpdir",
        os.path.join(d.exec_root, "libpod"),
        "--network-config-dir",
        os.path.join(d.exec_root, "net.d"),
        "--storage-driver",
        "vfs",
        "--cgroup-manager",
        "cgroupfs",
        "--events-backend",
        "file",
        "system",
        "service",
        "--time=0",
        d.url,
    ]
    daemons.launch(d, KIND, cgroups.enter_argv(cgroup, argv), journal, env=env)
    d.client = daemons.wait_for(d, KIND, timeout, version="auto")
    return d


def _containers_conf(resolver: IPv4Address | None, default: IPv4Network) -> str:
    dns = f'dns_servers = ["{resolver}"]\n' if resolver is not None else ""
    return (
        "[containers]\n"
        + dns
        + '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        + f'[network]\nnetwork_backend = "cni"\ndefault_subnet = "{default}"\n'
    )


def limits(pid: int) -> list[Any]:
    """The service's own open-files and processes limits, as the ulimits of the containers it starts."""
    import docker.types

    out = []
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            for label, name in (("Max open files", "nofile"), ("Max processes", "nproc")):
                if line.startswith(label):
                    soft, hard = line[len(label) :].split()[:2]
                    if soft.isdigit() and hard.isdigit():
                        out.append(docker.types.Ulimit(name=name, soft=int(soft), hard=int(hard)))
    return out
