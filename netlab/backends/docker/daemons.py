"""Private Docker daemons, one per node, each inside the node's own network namespace.

Started with `nsenter --net=<namespace> dockerd ...` (not `ip netns exec`, which remounts /sys and
breaks dockerd's cgroup view), with a data-root, exec-root, socket and containerd namespace of
their own, and addresses inside netlab's pool. They form a swarm for overlay networks. netlab never
touches the swarm state of a daemon it did not start: these are the only daemons it joins.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from netlab import safety
from netlab.backends import cgroups, naming
from netlab.backends.journal import Journal
from netlab.errors import EnvironmentProblem, Timeout
from netlab.waiting import wait_until

DATA_BASE = "/var/lib/netlab"
EXEC_BASE = "/run/nl"  # short: unix socket paths under it must stay below 108 bytes
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
#: a daemon of a run that died (`netlab clean`): its containers still run and its graceful shutdown would wait
#: about 13 s for its swarm and its containers' shims; it is killed after this, its cgroup (containerd, the shims,
#: the containers) ended right after, its directories unmounted and removed: nothing of it outlives the clean
DEAD_RUN_STOP_S = 1.0
#: per node a /24 for docker0 and a /20 of pools (docker_gwbridge, ingress, unnamed networks)
BIP_BLOCK = IPv4Network("198.19.0.0/18")
POOL_BLOCK = IPv4Network("198.19.64.0/18")


@dataclass(slots=True)
class PrivateDaemon:
    node: str
    netns: str
    data_root: str
    exec_root: str
    proc: subprocess.Popen[bytes] | None = None
    client: Any = None

    @property
    def socket(self) -> str:
        return os.path.join(self.exec_root, "docker.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"


def paths(run: str, node: str) -> tuple[str, str]:
    return os.path.join(DATA_BASE, f"{run}-{node}"), os.path.join(EXEC_BASE, f"{run}-{node}")


def addressing(run: str, index: int) -> tuple[str, str]:
    """docker0's address and the default address pool of node number `index` of a run."""
    slot = (int(run, 16) + index) % 16
    bip_net = list(BIP_BLOCK.subnets(new_prefix=24))[slot * 4 + index % 4]
    pool = list(POOL_BLOCK.subnets(new_prefix=22))[slot]
    return f"{next(bip_net.hosts())}/24", str(pool)


def start(
    run: str,
    node: str,
    index: int,
    netns: str,
    resolver: IPv4Address | None,
    journal: Journal,
    timeout: float = 60.0,
    flags: Sequence[str] = (),
) -> PrivateDaemon:
    """A dockerd in `netns`, with `flags` besides netlab's own; `timeout` bounds each request of the client
    returned with it."""
    dockerd = shutil.which("dockerd")
    nsenter = shutil.which("nsenter")
    if dockerd is None or nsenter is None:
        raise EnvironmentProblem("multi-node scenarios need dockerd and nsenter: apt-get install docker.io util-linux")
    d, cgroup = prepare(run, node, netns, journal)
    data_root, exec_root = d.data_root, d.exec_root
    bip, pool = addressing(run, index)
    ns_tag = f"{naming.PREFIX}{run}-{node}"
    argv = [
        nsenter,
        f"--net={netns}",
        dockerd,
        "--data-root",
        data_root,
        "--exec-root",
        exec_root,
        "--pidfile",
        os.path.join(exec_root, "dockerd.pid"),
        "-H",
        d.url,
        "--bip",
        bip,
        "--default-address-pool",
        f"base={pool},size=24",
        "--containerd-namespace",
        ns_tag,
        "--containerd-plugins-namespace",
        f"{ns_tag}-p",
        "--cgroup-parent",
        cgroups.container_parent(run, node),
        "--shutdown-timeout",
        "1",
        "--log-level",
        "warn",
    ]
    if resolver is not None:
        argv += ["--dns", str(resolver)]
    argv += list(flags)
    launch(d, "dockerd", cgroups.enter_argv(cgroup, argv), journal)
    d.client = wait_for(d, "dockerd", timeout)
    return d


def prepare(run: str, node: str, netns: str, journal: Journal) -> tuple[PrivateDaemon, str | None]:
    """The directories of node `node`'s private daemon (data and exec root, journalled, private to root) and the
    cgroup it starts in (journalled with its containers' parent before it is made); the cgroup's path."""
    data_root, exec_root = paths(run, node)
    d = PrivateDaemon(node, netns, data_root, exec_root)
    journal.record("dir", data_root)
    journal.record("dir", exec_root)
    for base, path in ((DATA_BASE, data_root), (EXEC_BASE, exec_root)):
        safety.own_dir(base)
        safety.own_dir(path)
    # the daemon and everything it starts in a cgroup of the run's; containers below a parent of the run's
    journal.record("cgroup", cgroups.container_parent(run, node))
    journal.record("cgroup", cgroups.daemon_cgroup(run, node))
    return d, cgroups.create(cgroups.daemon_cgroup(run, node))


def launch(d: PrivateDaemon, kind: str, argv: list[str], journal: Journal, env: dict[str, str] | None = None) -> None:
    """Start the daemon (`kind`: dockerd, podman), its output in <exec root>/<kind>.log, and journal its pid with
    its exec root (what `stop_pid` checks on its command line before it signals it)."""
    log = open(os.path.join(d.exec_root, f"{kind}.log"), "wb")  # noqa: SIM115 - lives as long as the daemon
    d.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    journal.record(kind, str(d.proc.pid), exec_root=d.exec_root)


def wait_for(d: PrivateDaemon, kind: str, timeout: float, version: str | None = None) -> Any:
    """A client once the daemon's socket answers (neither daemon gives another readiness signal)."""
    import docker

    last: list[Exception] = []

    def answering() -> Any:
        assert d.proc is not None
        if d.proc.poll() is not None:
            raise EnvironmentProblem(f"node {d.node!r}: {kind} exited at start:\n{_tail(d, kind)}")
        if not os.path.exists(d.socket):
            return None
        try:
            client = docker.DockerClient(base_url=d.url, timeout=timeout, **({"version": version} if version else {}))
            client.ping()
            return client
        except Exception as e:  # not answering yet
            last[:] = [e]
            return None

    try:
        return wait_until(answering, START_TIMEOUT_S, f"{kind} of node {d.node!r} to answer", interval=0.1)
    except Timeout as e:
        raise Timeout(f"node {d.node!r}: {e} ({last[0] if last else 'no socket'})\n{_tail(d, kind)}") from None


def _tail(d: PrivateDaemon, kind: str, lines: int = 12) -> str:
    try:
        with open(os.path.join(d.exec_root, f"{kind}.log"), errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def stop_pid(pid: int, exec_root: str, patience: float = STOP_TIMEOUT_S) -> bool:
    """Stop a dockerd netlab started (checked by its exec-root on the command line): SIGTERM, then SIGKILL after
    `patience` seconds."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    if exec_root.encode() not in argv:
        return False  # pid reused by another process: not ours
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)

    def gone() -> bool:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # our own child: reaped here, or it stays a zombie
        return not os.path.exists(f"/proc/{pid}")

    try:
        wait_until(gone, patience, f"dockerd {pid} to stop its containers and exit")
    except Timeout:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return True


def remove_dir(path: str, run: str) -> bool:
    """Remove a directory of the run after unmounting anything still mounted below it."""
    path = os.path.normpath(path)
    if (
        not run
        or not path.startswith((DATA_BASE + "/", EXEC_BASE + "/"))
        or not os.path.basename(path).startswith(f"{run}-")
    ):
        return False
    if os.path.islink(path) or not os.path.isdir(path):
        return False  # never follow a link planted where the run's directory was
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split()[4]
            if target == path or target.startswith(path + "/"):
                mounts.append(target)
    for target in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):  # the base directory too, once no run uses it
        os.rmdir(os.path.dirname(path))
    return True
