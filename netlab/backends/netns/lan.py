"""Lans and peers, shared by both backends: a lan is a namespace holding a Linux bridge named after
the lan; every node's uplink and every peer plugs into it with a veth pair. The bridge lives in
its own namespace, where no firewall rules apply to it (a bridge in a Docker host's root
namespace would have its traffic filtered by Docker's FORWARD policy through br_netfilter)."""

from __future__ import annotations

from collections.abc import Callable

from netlab.backends.netns.links import netlink_in, netns_fd
from netlab.model.topology import Topology, Uplink

#: where a node's end of its uplink lives: (interface name, namespace path)
UplinkEnd = Callable[[Uplink], tuple[str, str]]


def build(t: Topology, ns: dict[str, str], uplink_end: UplinkEnd) -> None:
    """Create every lan's bridge, plug in the uplinks and peers, address and raise the peers.
    The node's side of an uplink is addressed by the backend that owns the node. A VLAN has no bridge of its
    own: its peers plug into the trunk's and talk through an 802.1Q sub-interface (eth0.<vid>), so the wire
    carries their frames tagged and only that VLAN's sub-interfaces take them."""
    for lan in t.wires():
        with netlink_in(ns[lan.name]) as nl:
            br = nl.bridge(lan.name)
            nl.up(br)
            ports = [(u.node, *uplink_end(u)) for u in t.uplinks if u.lan == lan.name]
            ports += [(p.name, "eth0", ns[p.name]) for p in t.peers if (t.lan(p.lan).trunk or p.lan) == lan.name]
            for port, far_name, far_ns in ports:
                with netns_fd(far_ns) as fd:
                    idx = nl.veth(port, far_name, fd)
                nl.up(idx, master=br)
    for p in t.peers:
        on = t.lan(p.lan)
        with netlink_in(ns[p.name]) as nl:
            idx = nl.index("eth0")
            nl.up(idx)
            if on.vid is not None:
                idx = nl.vlan(idx, f"eth0.{on.vid}", on.vid)
            nl.addr(idx, p.address, on.subnet.prefixlen)
            nl.up(idx)
