"""Routes and neighbours of every endpoint, read from the kernel after a stage was probed.

Routes are the main table's IPv4 routes, printed the way `ip route` prints them; neighbours are the
IPv4 ARP entries with their state. In a dual-stack run also `routes6` (`ip -6 route`, without the link-local
fe80::/64 every IPv6 interface has) and `neighbours6`, the NDP entries.
After probing, a container's neighbour table shows whom it really
talked to at layer 2: on a bridge the other containers' own MACs, behind NAT only its gateway's.
Endpoints sharing a namespace (the node and its host-network containers) share one reading.

Read with three rtnetlink dumps (netlab/kernel/rtnetlink.py) on one socket opened inside the namespace.
"""

from __future__ import annotations

import os
import socket
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from netlab import nsthread
from netlab.backends.base import Deployment
from netlab.kernel.rtnetlink import (
    MAIN_TABLE,
    NDA_DST,
    NDA_LLADDR,
    NETLINK_ROUTE,
    RTA_DST,
    RTA_GATEWAY,
    RTA_OIF,
    RTA_PREFSRC,
    RTA_TABLE,
    RTM_GETNEIGH,
    RTM_GETROUTE,
    RTN_UNICAST,
    dump,
    ip,
    link_names,
)

NEIGHBOUR = frozenset({NDA_DST, NDA_LLADDR})  # what a neighbour line shows besides its header
#: threads reading namespaces at once (at most one per CPU)
READERS = 4
PROTO = {2: "kernel", 4: "static"}  # boot (3), the kernel's default for a route added by hand, is not shown
SCOPE = {253: "link", 254: "host"}
NUD = {
    0x01: "INCOMPLETE",
    0x02: "REACHABLE",
    0x04: "STALE",
    0x08: "DELAY",
    0x10: "PROBE",
    0x20: "FAILED",
    0x40: "NOARP",
    0x80: "PERMANENT",
}


def read(netns: str, ipv6: bool = False) -> dict[str, list[str]]:
    with nsthread.entered(netns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    out = {}
    with sock:
        sock.bind((0, 0))
        names = link_names(sock)
        families = [(socket.AF_INET, "")] + ([(socket.AF_INET6, "6")] if ipv6 else [])
        for seq, (family, suffix) in enumerate(families):
            routes = [_route(head, attrs, names) for head, attrs in dump(sock, RTM_GETROUTE, 2 + 2 * seq, family)]
            neighbours = [
                _neighbour(h, attrs, names) for h, attrs in dump(sock, RTM_GETNEIGH, 3 + 2 * seq, family, NEIGHBOUR)
            ]
            out["routes" + suffix] = [r for r in routes if r and not r.startswith("fe80::/64 ")]
            out["neighbours" + suffix] = sorted(n for n in neighbours if n)
    return out


def _route(head: bytes, attrs: dict[int, bytes], names: dict[int, str]) -> str:
    _, dst_len, _, _, table, proto, scope, rtype = struct.unpack_from("=8B", head)
    if RTA_TABLE in attrs:
        (table,) = struct.unpack("=I", attrs[RTA_TABLE][:4])
    if table != MAIN_TABLE or rtype != RTN_UNICAST:
        return ""
    dst = ip(attrs.get(RTA_DST))
    parts = [f"{dst}/{dst_len}" if dst else "default"]
    if gw := ip(attrs.get(RTA_GATEWAY)):
        parts.append(f"via {gw}")
    if RTA_OIF in attrs:
        (oif,) = struct.unpack("=i", attrs[RTA_OIF][:4])
        parts.append(f"dev {names.get(oif, oif)}")
    if proto in PROTO:
        parts.append(f"proto {PROTO[proto]}")
    if scope in SCOPE:
        parts.append(f"scope {SCOPE[scope]}")
    if src := ip(attrs.get(RTA_PREFSRC)):
        parts.append(f"src {src}")
    return " ".join(parts)


def _neighbour(head: bytes, attrs: dict[int, bytes], names: dict[int, str]) -> str:
    _, _, _, ifindex, state, _, _ = struct.unpack_from("=BBHiHBB", head)
    dst = ip(attrs.get(NDA_DST))
    if not dst or names.get(ifindex) == "lo":
        return ""
    lladdr = attrs.get(NDA_LLADDR)
    mac = lladdr.hex(":") if lladdr else "-"
    return f"{dst} {mac} dev {names.get(ifindex, ifindex)} {NUD.get(state, hex(state))}"


def collect(dep: Deployment) -> dict[str, Any]:
    """Every endpoint with a namespace netlab can enter: its routes and neighbours now (IPv6 ones too in a
    dual-stack run). The namespaces are read side by side, one thread per CPU: the kernel walks its whole
    neighbour table (one for every namespace of the machine) for each namespace's dump, with the GIL released,
    which at 250 containers on one bridge is 63,000 entries a namespace (docs/performance.md)."""
    ipv6 = dep.topology.dual_stack
    paths = list(dict.fromkeys(ep.netns for ep in dep.endpoints.values() if ep.netns is not None))

    def one(netns: str) -> dict[str, list[str]]:
        try:
            return read(netns, ipv6)
        except OSError as e:  # the container went away: say so instead of failing the run
            return {"routes": [], "neighbours": [], "error": [str(e)]}

    workers = min(os.cpu_count() or 1, READERS, len(paths))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="netlab-routes") as pool:
            seen = dict(zip(paths, pool.map(one, paths), strict=True))
    else:
        seen = {p: one(p) for p in paths}
    return {name: seen[ep.netns] for name, ep in dep.endpoints.items() if ep.netns is not None}
