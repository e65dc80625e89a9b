"""A snapshot of the host's network state, to prove a run left it exactly as it found it."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from netlab.backends import cgroups
from netlab.kernel import hoststate


def _run(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return f"({argv[0]} not installed)"
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30).stdout


CARRIER_FLAGS = {"LOWER_UP", "NO-CARRIER", "DORMANT", "M-DOWN"}


def _routes() -> str:
    """IPv4 routes of every table, and IPv6 routes except those the kernel derives by itself when a
    link first gets carrier (link-local fe80::/64, ff00::/8 multicast): dockerd's docker0 gets
    them when its first container arrives, and netlab configures no IPv6 at all."""
    v4 = _run(["ip", "-4", "route", "show", "table", "all"]).splitlines()
    v6 = [
        line
        for line in _run(["ip", "-6", "route", "show", "table", "all"]).splitlines()
        if not re.match(r"(local fe80::|fe80::/64|multicast ff00::/8)", line)
    ]
    return "\n".join(line.replace(" linkdown", "") for line in v4 + v6)


def _links() -> str:
    out = []
    for line in _run(["ip", "-o", "link", "show"]).splitlines():
        # keep name, flags and kind-relevant parts; drop counters that change by themselves
        m = re.match(r"\d+: (\S+): <([^>]*)>", line)
        if m:
            # carrier flags are run-time state that follows asynchronously (a bridge whose last port
            # left drops LOWER_UP a moment later); configuration is what must be as before
            flags = [f for f in m.group(2).split(",") if f not in CARRIER_FLAGS]
            out.append(f"{m.group(1)} <{','.join(flags)}>")
    return "\n".join(sorted(out))


def _iptables() -> str:
    text = _run(["iptables-save"])
    return "\n".join(re.sub(r"\[\d+:\d+\]", "", line) for line in text.splitlines() if not line.startswith("#"))


#: tests/run.sh runs the tiers that need no Docker in a machine of their own (tests/sandbox.sh) beside the docker
#: tier: that machine's processes (its pid namespace, and its network namespace, where `unshare` itself lives) are
#: named here by their namespaces' links ("pid:[4026532176] net:[4026532179]") and are not this machine's runs'
SANDBOX = set(os.environ.get("NETLAB_TEST_SANDBOX", "").split())


def _processes() -> str:
    lines = hoststate.run_processes()
    if SANDBOX:
        # a process whose namespaces can no longer be read has exited since it was listed: not a leftover either
        lines = [line for line in lines if _outside_sandbox(line.split()[0])]
    return "\n".join(lines)


NS_GET_PARENT = 0xB702  # linux/nsfs.h: _IO(0xb7, 0x2)


def _outside_sandbox(pid: str) -> bool:
    """Whether the process is this machine's: not in the sandbox's network namespace (`unshare` itself), nor in its
    pid namespace or one below it (its containers, Podman's among them, have pid namespaces of their own)."""
    try:
        if os.readlink(f"/proc/{pid}/ns/net") in SANDBOX:
            return False
        fd = os.open(f"/proc/{pid}/ns/pid", os.O_RDONLY)
    except OSError:
        return False
    try:
        for _ in range(32):  # the kernel nests pid namespaces 32 deep at most
            if f"pid:[{os.fstat(fd).st_ino}]" in SANDBOX:
                return False
            try:
                parent = fcntl.ioctl(fd, NS_GET_PARENT)
            except OSError:  # the top, or a namespace above ours
                return True
            os.close(fd)
            fd = parent
        return True
    finally:
        os.close(fd)


DOCKER_OWN = "/run/docker/netns/default"  # dockerd binds it once, on first use of the host network, for its lifetime


def _mounts() -> str:
    with open("/proc/self/mountinfo") as f:
        return "\n".join(
            sorted(
                line.split(" - ")[0].split(" ", 4)[4] for line in f if "netns" in line and line.split()[4] != DOCKER_OWN
            )
        )


@dataclass(frozen=True)
class HostSnapshot:
    links: str
    netns: str
    routes: str
    iptables: str
    mounts: str
    #: every nftables table (iptables-save shows none of netlab's own, e.g. --why's `inet nltrace<run>`)
    nft_tables: str = ""
    #: the root namespace's sysctls a run could touch (forwarding, br_netfilter, neighbour limits)
    sysctls: str = ""
    #: processes living in a network namespace other than the machine's (containers, private dockerds
    #: and their containerd shims), and netlab's cgroups in every hierarchy
    processes: str = ""
    cgroups: str = ""

    @classmethod
    def take(cls) -> HostSnapshot:
        return cls(
            links=_links(),
            netns=_run(["ip", "netns", "list"]),
            routes=_routes(),
            iptables=_iptables(),
            mounts=_mounts(),
            nft_tables="\n".join(sorted(_run(["nft", "list", "tables"]).splitlines())),
            sysctls="\n".join(f"{k}={v}" for k, v in sorted(hoststate.root_sysctls().items())),
            processes=_processes(),
            cgroups="\n".join(cgroups.leftovers()),
        )

    def diff(self, other: HostSnapshot) -> list[str]:
        return [name for name in self.__dataclass_fields__ if getattr(self, name) != getattr(other, name)]

    def describe(self, other: HostSnapshot) -> str:
        """A unified diff of every field that changed (for assertion messages)."""
        import difflib

        out = []
        for name in self.diff(other):
            a, b = getattr(self, name).splitlines(), getattr(other, name).splitlines()
            out.append("\n".join(difflib.unified_diff(a, b, f"{name} before", f"{name} after", lineterm="")))
        return "\n".join(out)
