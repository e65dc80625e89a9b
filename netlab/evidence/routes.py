"""Routes and neighbours of every endpoint, read with pyroute2 after a stage was probed.

Routes are the main table's IPv4 routes, printed the way `ip route` prints them; neighbours are the
IPv4 ARP entries with their state. After probing, a container's neighbour table shows whom it really
talked to at layer 2: on a bridge the other containers' own MACs, behind NAT only its gateway's.
Endpoints sharing a namespace (the node and its host-network containers) share one reading.
"""

from __future__ import annotations

import socket
from typing import Any

from pyroute2 import IPRoute

from netlab.backends.base import Deployment
from netlab.probes import nsthread

PROTO = {2: "kernel", 3: "boot", 4: "static"}
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
MAIN_TABLE = 254


def read(netns: str) -> dict[str, list[str]]:
    with nsthread.entered(netns):
        ipr = IPRoute()
    try:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        routes = [_route(r, names) for r in ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE)]
        neighbours = [_neighbour(n, names) for n in ipr.get_neighbours(family=socket.AF_INET)]
    finally:
        ipr.close()
    return {"routes": routes, "neighbours": sorted(n for n in neighbours if n)}


def _route(msg: Any, names: dict[int, str]) -> str:
    dst = msg.get_attr("RTA_DST")
    parts = [f"{dst}/{msg['dst_len']}" if dst else "default"]
    if msg.get_attr("RTA_GATEWAY"):
        parts.append(f"via {msg.get_attr('RTA_GATEWAY')}")
    if msg.get_attr("RTA_OIF"):
        parts.append(f"dev {names.get(msg.get_attr('RTA_OIF'), msg.get_attr('RTA_OIF'))}")
    if msg["proto"] in PROTO and msg["proto"] != 3:
        parts.append(f"proto {PROTO[msg['proto']]}")
    if msg["scope"] in SCOPE:
        parts.append(f"scope {SCOPE[msg['scope']]}")
    if msg.get_attr("RTA_PREFSRC"):
        parts.append(f"src {msg.get_attr('RTA_PREFSRC')}")
    return " ".join(parts)


def _neighbour(msg: Any, names: dict[int, str]) -> str:
    dst = msg.get_attr("NDA_DST")
    if not dst or names.get(msg["ifindex"]) == "lo":
        return ""
    mac = msg.get_attr("NDA_LLADDR") or "-"
    state = NUD.get(msg["state"], hex(msg["state"]))
    return f"{dst} {mac} dev {names.get(msg['ifindex'], msg['ifindex'])} {state}"


def collect(dep: Deployment) -> dict[str, Any]:
    """Every endpoint with a namespace netlab can enter: its routes and neighbours now."""
    seen: dict[str, dict[str, list[str]]] = {}
    out: dict[str, Any] = {}
    for name, ep in dep.endpoints.items():
        if ep.netns is None:
            continue
        if ep.netns not in seen:
            try:
                seen[ep.netns] = read(ep.netns)
            except OSError as e:  # the container went away: say so instead of failing the run
                seen[ep.netns] = {"routes": [], "neighbours": [], "error": [str(e)]}
        out[name] = seen[ep.netns]
    return out
