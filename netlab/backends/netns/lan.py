"""Lans and peers, shared by both backends: a lan is a namespace holding a Linux bridge named after
the lan; every node's uplink and every peer plugs into it with a veth pair. The bridge lives in
its own namespace, where no firewall rules apply to it (a bridge in a Docker host's root
namespace would have its traffic filtered by Docker's FORWARD policy through br_netfilter)."""

from __future__ import annotations

from collections.abc import Callable

from netlab import nsthread
from netlab.backends.base import Deployment
from netlab.backends.netns.links import ipv6_on, netlink_in, netns_fd
from netlab.errors import DeployError
from netlab.model.topology import Forward, Peer, Topology, Uplink

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
            ports += [
                (p.name, ifname, ns[p.name])
                for p in t.peers
                for wire, ifname in _ports(t, p).items()
                if wire == lan.name
            ]
            for port, far_name, far_ns in ports:
                with netns_fd(far_ns) as fd:
                    idx = nl.veth(port, far_name, fd)
                nl.up(idx, master=br)
    for p in t.peers:
        wires = _ports(t, p)
        with netlink_in(ns[p.name]) as nl:
            for ifname in wires.values():
                nl.up(nl.index(ifname))
            for lan_name, address in p.addresses:
                on = t.lan(lan_name)
                port = wires[on.trunk or on.name]
                idx = nl.index(port)
                if on.vid is not None:
                    idx = nl.vlan(idx, f"{port}.{on.vid}", on.vid)
                nl.addr(idx, address, on.subnet.prefixlen)
                address6 = on.v6_of(address)
                if address6 is not None and on.subnet6 is not None:  # a dual-stack lan: IPv6 on for that port
                    ipv6_on(ns[p.name], port, "lo")
                    nl.addr(idx, address6, on.subnet6.prefixlen)
                nl.up(idx)


def _ports(t: Topology, p: Peer) -> dict[str, str]:
    """A peer's port on each wire it has a leg on (eth0, eth1, ...): a router on two VLANs of one trunk has one
    port, tagged both ways (a router on a stick)."""
    wires: dict[str, str] = {}
    for lan_name, _ in p.addresses:
        on = t.lan(lan_name)
        wires.setdefault(on.trunk or on.name, f"eth{len(wires)}")
    return wires


def forward(dep: Deployment, action: Forward) -> None:
    """A router starts routing between its legs: IP forwarding on in its own namespace (a peer of the run's), for
    IPv6 too."""
    path = dep.endpoints[action.router].netns
    if path is None:
        raise DeployError(f"forward on {action.router}: it is not running")
    nsthread.write_sysctls(path, {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"})
