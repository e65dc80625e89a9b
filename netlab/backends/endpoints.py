"""The endpoints and capture points every backend describes the same way: a node's addresses on its lans,
a peer, a container sharing its node's namespace, the lans' capture points. What differs per backend
(where a container's namespace is, which addresses Docker gave it) stays in the backend."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address

from netlab.model.deployed import Address, CapturePoint, Endpoint
from netlab.model.topology import Container, Driver, EndpointKind, Peer, Topology


def uplink_addresses(t: Topology, node: str) -> list[Address]:
    """The node's own addresses on the lans it is wired to."""
    return [Address(u.lan, f"lan:{u.lan}", u.address, t.lan(u.lan).v6_of(u.address)) for u in t.uplinks_of(node)]


def gateway_addresses(t: Topology, node: str) -> list[Address]:
    """The node's addresses on its bridge networks (each bridge's gateway, which Docker gives the bridge)."""
    return [
        Address(net.name, t.segment(net.name, node), net.gateway, net.gateway6)
        for net in t.networks_on(node)
        if net.driver == Driver.BRIDGE and net.gateway is not None
    ]


def shim_address(lan: str, address: IPv4Address) -> Address:
    """The address of a node's macvlan shim on `lan` (the lecture's fix for "the host cannot reach its
    macvlan children")."""
    return Address(f"{lan}-shim", f"lan:{lan}", address)


def peer(t: Topology, p: Peer, netns: str | None) -> Endpoint:
    addresses = [Address(lan, f"lan:{lan}", a, t.lan(lan).v6_of(a)) for lan, a in p.addresses]
    return Endpoint(p.name, EndpointKind.PEER, None, netns, addresses)


def sharing_node(c: Container, node: Endpoint) -> Endpoint:
    """A container in its node's namespace (the host driver): the node's namespace and addresses."""
    return Endpoint(c.name, EndpointKind.CONTAINER, c.node, node.netns, list(node.addresses))


def joining(c: Container, target: Endpoint) -> Endpoint:
    """A container in another's network namespace (`network_mode: container:X`): X's namespace and addresses."""
    return Endpoint(c.name, EndpointKind.CONTAINER, c.node, target.netns, list(target.addresses))


def lan_capture_points(t: Topology, ns: Mapping[str, str]) -> list[CapturePoint]:
    """Every lan's bridge, in the lan's namespace."""
    return [CapturePoint(lan.name, ns[lan.name], lan.name, "lan") for lan in t.wires()]
