"""Which link kinds this kernel can really create: found by trying, in a scratch namespace.

A scratch namespace belongs to one short-lived thread that unshares into it and never comes
back; when the thread ends the namespace and everything created in it are gone. Results are
cached per process.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable

from netlab.errors import EnvironmentProblem, KernelFeatureMissing
from netlab.model.topology import Driver, Shim, Topology

KINDS = ("bridge", "veth", "macvlan", "ipvlan", "vxlan", "dummy", "vlan")

REMEDY = {
    "ipvlan": "this kernel has no ipvlan support (CONFIG_IPVLAN); rerun with --kernel uml to use "
    "user-mode Linux, whose kernel has it (apt-get install user-mode-linux kmod)",
    "macvlan": "this kernel has no macvlan support (CONFIG_MACVLAN); rerun with --kernel uml",
    "vxlan": "this kernel has no vxlan support (CONFIG_VXLAN), which overlay networks need; rerun with --kernel uml",
    "dummy": "this kernel has no dummy links (CONFIG_DUMMY), which Docker makes the parent of a macvlan or ipvlan "
    "network without one; rerun with --kernel uml, whose kernel has them",
    "vlan": "this kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q), which VLANs and `parent=<lan>.<vid>` "
    "networks need; rerun with --kernel uml, whose kernel has it (8021q.ko)",
    "bridge": "this kernel has no Linux bridge support (CONFIG_BRIDGE)",
    "veth": "this kernel has no veth support (CONFIG_VETH)",
}


def _reason(e: Exception) -> str:
    args: tuple[object, ...] = tuple(e.args)
    if len(args) == 2 and isinstance(args[1], str):
        return args[1]
    return str(e) or type(e).__name__


def _try_kinds(wanted: frozenset[str]) -> dict[str, str]:
    """Create one link of each wanted kind in a scratch namespace; '' for success, else the error.
    (Each try costs: in user-mode Linux all five took about 3 s.)"""
    result: dict[str, str] = {}

    def probe() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET, for this thread only
            for k in wanted:
                result[k] = "cannot create a scratch namespace (not root?)"
            return
        from netlab.kernel.pyroute import IPRoute

        with IPRoute() as ipr:
            attempts: list[tuple[str, dict[str, object]]] = [
                ("bridge", {"ifname": "nlt-br", "kind": "bridge"}),
                ("veth", {"ifname": "nlt-v0", "kind": "veth", "peer": "nlt-v1"}),
            ]
            for kind, spec in attempts:
                if kind not in wanted and not (kind == "veth" and wanted & {"macvlan", "ipvlan", "vlan"}):
                    continue
                try:
                    ipr.link("add", **spec)
                    result[kind] = ""
                except Exception as e:  # NetlinkError: EOPNOTSUPP and friends
                    result[kind] = _reason(e)
            # each on its own parent: one device cannot be master of both macvlan and ipvlan (EBUSY)
            for kind, parent_name, spec in (
                ("macvlan", "nlt-v0", {"ifname": "nlt-mv", "kind": "macvlan", "macvlan_mode": 4}),
                ("ipvlan", "nlt-v1", {"ifname": "nlt-iv", "kind": "ipvlan", "ipvlan_mode": 1}),
            ):
                if kind not in wanted:
                    continue
                parent = ipr.link_lookup(ifname=parent_name)
                if not parent:
                    result[kind] = "no veth to use as parent"
                    continue
                try:
                    ipr.link("add", link=parent[0], **spec)
                    result[kind] = ""
                except Exception as e:
                    result[kind] = _reason(e)
            if "vlan" in wanted:
                parent = ipr.link_lookup(ifname="nlt-v0")
                try:
                    if not parent:
                        raise OSError("no veth to use as parent")
                    ipr.link("add", ifname="nlt-vl", kind="vlan", link=parent[0], vlan_id=50)
                    result["vlan"] = ""
                except Exception as e:
                    result["vlan"] = _reason(e)
            if "dummy" in wanted:
                try:
                    ipr.link("add", ifname="nlt-dm", kind="dummy")
                    result["dummy"] = ""
                except Exception as e:
                    result["dummy"] = _reason(e)
            if "vxlan" in wanted:
                try:
                    ipr.link("add", ifname="nlt-vx", kind="vxlan", vxlan_id=42, vxlan_port=4789)
                    result["vxlan"] = ""
                except Exception as e:
                    result["vxlan"] = _reason(e)

    t = threading.Thread(target=probe, name="netlab-kernel-probe")
    t.start()
    t.join(timeout=30)
    return result


@functools.cache
def link_kinds(wanted: frozenset[str] = frozenset(KINDS)) -> dict[str, str]:
    """Which of the wanted link kinds this kernel can create ('' = yes, else the kernel's reason)."""
    return {k: v for k, v in _try_kinds(wanted).items() if k in wanted}


def link_kinds_needed(t: Topology) -> set[str]:
    kinds = {"bridge", "veth"}
    for node in t.nodes:
        for net in t.networks_on(node.name):
            if net.driver == Driver.MACVLAN:
                kinds.add("macvlan")
            elif net.driver == Driver.IPVLAN:
                kinds.add("ipvlan")
            if net.dummy:
                kinds.add("dummy")
            elif net.driver == Driver.OVERLAY:
                kinds.add("vxlan")
    for stage in t.stages:
        if any(isinstance(a, Shim) for a in stage.actions):
            kinds.add("macvlan")
    if any(lan.trunk is not None for lan in t.lans):
        kinds.add("vlan")
    return kinds


def require(kinds: Iterable[str]) -> None:
    kinds = set(kinds)
    if kinds <= {"bridge", "veth"}:
        return  # every kernel netns can run has them; a failure would surface at deploy with its reason
    have = link_kinds(frozenset(kinds))
    for kind in sorted(kinds):
        err = have.get(kind, "not probed")
        if err:
            raise KernelFeatureMissing(
                f"{kind}: {REMEDY.get(kind, 'not supported by this kernel')} [kernel said: {err}]"
            )


# -- br_netfilter -------------------------------------------------------------
# Docker's bridge rules (icc, isolation, the FORWARD policy) see bridged traffic only through br_netfilter.
# Built into some kernels; a module on Debian's, which dockerd loads itself at start (`modprobe br_netfilter`).
BR_NETFILTER_DIR = "/proc/sys/net/bridge"
BR_NETFILTER_LOAD = ["modprobe", "br_netfilter"]


def require_br_netfilter(sysctl_dir: str | None = None) -> bool:
    """Make sure br_netfilter is there, loading it as dockerd does when it is a module not yet loaded.
    True when this call loaded it. KernelFeatureMissing, naming the command, where loading fails."""
    sysctl_dir = sysctl_dir or BR_NETFILTER_DIR
    if os.path.isdir(sysctl_dir):
        return False
    why = "modprobe is not installed (apt-get install kmod)"
    if shutil.which(BR_NETFILTER_LOAD[0]) is not None:
        done = subprocess.run(BR_NETFILTER_LOAD, capture_output=True, text=True, check=False, timeout=30)
        if os.path.isdir(sysctl_dir):
            return True
        why = done.stderr.strip() or f"exit {done.returncode}"
    raise KernelFeatureMissing(
        f"br_netfilter: {sysctl_dir} is missing and `{' '.join(BR_NETFILTER_LOAD)}` did not load it ({why}); "
        "Docker's bridge rules cannot filter bridged traffic without it: load it (or build it into the kernel) "
        "and run again"
    )


def br_netfilter_status(sysctl_dir: str | None = None) -> tuple[bool, str]:
    """For `netlab doctor`, without loading anything: (whether a run can have br_netfilter, what was found).
    Loaded (or built in) is fine; a module not yet loaded is fine too when `modprobe --dry-run` finds it,
    since every run loads it first (require_br_netfilter); only a module that cannot be loaded is not."""
    sysctl_dir = sysctl_dir or BR_NETFILTER_DIR
    if os.path.isdir(sysctl_dir):
        return True, "loaded: bridged traffic passes iptables (Docker's icc/isolation rules work)"
    load = " ".join(BR_NETFILTER_LOAD)
    if shutil.which(BR_NETFILTER_LOAD[0]) is None:
        return False, "not loaded, and netlab cannot load it: modprobe is not installed (apt-get install kmod)"
    try:
        done = subprocess.run(
            [BR_NETFILTER_LOAD[0], "--dry-run", *BR_NETFILTER_LOAD[1:]],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as e:
        return False, f"not loaded, and `{load} --dry-run` could not run ({e})"
    if done.returncode != 0:
        why = done.stderr.strip() or f"exit {done.returncode}"
        return False, f"not loaded, and `{load}` cannot load it ({why}): build it into the kernel or install it"
    return True, f"not loaded; netlab loads it before a run, as dockerd does ({load})"


# -- the kernel's neighbour (ARP) table --------------------------------------
# One table serves every namespace; entries younger than 5 s cannot be evicted, so a full matrix
# of k endpoints on one L2 segment needs about k*(k-1) entries at once.
GC_THRESH3 = "/proc/sys/net/ipv4/neigh/default/gc_thresh3"
ARP_STATS = "/proc/net/stat/arp_cache"


def neighbour_limit() -> int | None:
    try:
        with open(GC_THRESH3) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def neighbour_overflows() -> int:
    """How often the neighbour table was full since boot (the kernel's table_fulls, all CPUs)."""
    try:
        with open(ARP_STATS) as f:
            head, *rows = f.read().split("\n")
    except OSError:
        return 0
    col = head.split().index("table_fulls")
    return sum(int(r.split()[col], 16) for r in rows if r.strip())


def neighbour_entries_needed(t: Topology) -> tuple[int, str]:
    """The largest L2 segment's k*(k-1) + 2k (gateway entries both ways), and its name."""
    sizes: dict[str, int] = {}
    for c in t.containers:
        for a in c.attachments:
            net = t.network(a.network)
            if net.driver in (Driver.BRIDGE, Driver.MACVLAN, Driver.IPVLAN):
                seg = t.segment(a.network, c.node)
                sizes[seg] = sizes.get(seg, 1 if net.driver == Driver.BRIDGE else 0) + 1
    for lan in t.lans:
        seg = f"lan:{lan.name}"
        sizes[seg] = sizes.get(seg, 0) + len(t.nodes) + sum(on == lan.name for p in t.peers for on, _ in p.addresses)
    if not sizes:
        return 0, ""
    seg = max(sizes.items(), key=lambda kv: kv[1])[0]
    return sum(n * (n - 1) + 2 * n for n in sizes.values()), seg


def require_neighbour_room(t: Topology) -> None:
    limit = neighbour_limit()
    need, seg = neighbour_entries_needed(t)
    if limit is not None and need > limit:
        raise EnvironmentProblem(
            f"a full matrix of this scenario needs about {need} neighbour (ARP) entries at once (largest "
            f"segment: {seg}), but the kernel's table, shared by every namespace, holds {limit} "
            f"(net.ipv4.neigh.default.gc_thresh3); raise it, e.g. `sysctl -w net.ipv4.neigh.default.gc_thresh3="
            f"{max(2 * need, 4096)}` (netlab does not change host sysctls itself)"
        )
