"""The machine's own state that netlab must leave as it found it, read (never written) for checks.

`root_sysctls()` reads the root namespace's sysctls that a run could touch by mistake: forwarding
(global, all, default and per interface, IPv4 and IPv6), br_netfilter's bridge-nf-call-*, the
neighbour table limits and how new namespaces inherit settings. The runner compares them before and
after every run; the test suite's host snapshot includes them.

`run_processes()` lists the processes that live in a network namespace other than the machine's
own (containers, private dockerds, their containerd shims): after a run or `netlab clean`, none of
a run's may be left.

Both read from the calling thread, which must be in netlab's own namespace (not inside
`nsthread.entered`): /proc/sys/net shows the namespace of the calling thread.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import struct
import subprocess
from ipaddress import IPv4Address, IPv4Network

from netlab.kernel import rtnetlink

PROC_SYS = "/proc/sys/"

#: single keys, read where the kernel has them (bridge-nf-call-* only once br_netfilter is loaded)
KEYS = (
    "net.ipv4.ip_forward",
    "net.core.devconf_inherit_init_net",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.bridge.bridge-nf-call-arptables",
    "net.ipv4.neigh.default.gc_thresh1",
    "net.ipv4.neigh.default.gc_thresh2",
    "net.ipv4.neigh.default.gc_thresh3",
)
#: every interface's (and all/default's) forwarding knobs
PATTERNS = ("net/ipv4/conf/*/*forwarding*", "net/ipv6/conf/*/*forwarding*")


def _key(path: str) -> str:
    return path[len(PROC_SYS) :].replace("/", ".")


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:  # missing (no IPv6, no br_netfilter) or write-only
        return None


def root_sysctls() -> dict[str, str]:
    """The root namespace's sysctls netlab could touch, key -> value (keys the kernel lacks are left out)."""
    paths = [PROC_SYS + k.replace(".", "/") for k in KEYS]
    for pattern in PATTERNS:
        paths += sorted(glob.glob(PROC_SYS + pattern))
    out: dict[str, str] = {}
    for path in paths:
        value = _read(path)
        if value is not None:
            out[_key(path)] = value
    return out


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs, one line per key: `net.ipv4.ip_forward 0 -> 1`. An interface that came or went
    (its own forwarding key with it) is a change of links, not of sysctls, and is left out here."""
    out = []
    for key in sorted(before.keys() & after.keys()):
        if before[key] != after[key]:
            out.append(f"{key} {before[key]} -> {after[key]}")
    for key in sorted(before.keys() ^ after.keys()):
        if not key.startswith(("net.ipv4.conf.", "net.ipv6.conf.")) or key.split(".")[3] in ("all", "default"):
            out.append(f"{key} {before.get(key, '(none)')} -> {after.get(key, '(none)')}")
    return out


def _netns_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def run_processes() -> list[str]:
    """Processes whose network namespace is not the one netlab runs in, as `pid comm` lines. netlab's
    runs put every process they start (private dockerds, containerd and its shims, containers) in
    namespaces of their own; so does Docker for its containers, whose lines a caller compares before
    and after."""
    home = _netns_id("/proc/self/ns/net")
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        ns = _netns_id(f"/proc/{pid}/ns/net")
        if ns is None or ns == home:
            continue  # gone meanwhile, or a kernel thread / process of the machine's own namespace
        comm = _read(f"/proc/{pid}/comm")
        if comm is not None:
            out.append(f"{pid} {comm}")
    return sorted(out, key=lambda line: int(line.split()[0]))


def firewall_flavour() -> str:
    """Which iptables this machine's `iptables` command is: iptables-nft, iptables-legacy (or nft alone)."""
    exe = shutil.which("iptables")
    if exe is None:
        return "nft" if shutil.which("nft") else "none"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "iptables-nft" if "nf_tables" in out else "iptables-legacy"


def nameservers(path: str = "/etc/resolv.conf") -> list[IPv4Address]:
    """The IPv4 DNS servers this machine's resolver asks (none when the file cannot be read)."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    with contextlib.suppress(ValueError):
                        out.append(IPv4Address(parts[1]))
    except OSError:
        return []
    return out


def host_networks(min_prefix: int = 15) -> list[tuple[IPv4Network, str]]:
    """The IPv4 destinations the calling process's namespace really uses, in any table: unicast routes (its
    networks, VPNs) and local ones (its own addresses), as (network, 'NETWORK dev IFNAME'). Left out: default
    routes and anything wider than the pool (/0 to /14: VPN catch-alls like 0.0.0.0/1; `min_prefix=1` keeps
    them, for subnets a user keeps outside the pool), and blackhole, unreachable or prohibit routes (a bogon
    filter for 198.18.0.0/15 uses no address)."""
    out = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, rtnetlink.NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        names = rtnetlink.link_names(sock)
        for head, attrs in rtnetlink.dump(sock, rtnetlink.RTM_GETROUTE, 2):
            dst = rtnetlink.ip(attrs.get(rtnetlink.RTA_DST))
            if (
                dst is None
                or head[1] < max(min_prefix, 1)
                or head[7] not in (rtnetlink.RTN_UNICAST, rtnetlink.RTN_LOCAL)
            ):
                continue
            net = IPv4Network(f"{dst}/{head[1]}", strict=False)
            dev = ""
            if rtnetlink.RTA_OIF in attrs:
                (oif,) = struct.unpack("=i", attrs[rtnetlink.RTA_OIF][:4])
                dev = f" dev {names.get(oif, oif)}"
            out.append((net, f"{net}{dev}"))
    return out
