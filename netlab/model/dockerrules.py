"""Docker's own decisions about a container, as rules on the topology: the order of its endpoints, the network
its default route comes from, whether it has a namespace of its own, and the names its embedded DNS answers.

Both the netns backend (which builds what Docker builds) and the predictor (netlab/predict.py, which says what
Docker's rules make reachable) read them here, so the two can never disagree about them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from netlab.model.topology import GWBRIDGE, Attachment, Container, Driver, Network, Topology


class Networks(Protocol):
    """What the endpoint rules read: a network by name (a Topology, or the builder's networks before there is one)."""

    def network(self, name: str) -> Network: ...


#: Docker's overlay manager hands out VNIs from here up; the swarm's ingress network takes 4096 itself
VNI_START = 4096


def vni(t: Topology, net: Network) -> int:
    """The VXLAN id of an overlay network: the next after the ingress's, in the order the networks are created."""
    overlays = [n.name for n in t.networks if n.driver == Driver.OVERLAY]
    return VNI_START + 1 + overlays.index(net.name)


def mac_of(address: object) -> str:
    """The MAC Docker 20.10 derives from an endpoint's IPv4 address (GenerateMACFromIP): 02:42, then its bytes."""
    packed = getattr(address, "packed", b"")
    return "02:42:" + ":".join(f"{b:02x}" for b in packed)


def shares_node_ns(t: Topology, c: Container) -> bool:
    """The host driver: the container is its node, network-wise."""
    return any(t.network(a.network).driver == Driver.HOST for a in c.attachments)


def has_own_ns(t: Topology, c: Container) -> bool:
    """Whether the container gets a namespace of its own (not its node's, nor another container's)."""
    return not shares_node_ns(t, c) and c.joins is None


def docker_order(t: Networks, attachments: Sequence[Attachment]) -> list[Attachment]:
    """The order Docker 20.10 gives a container's endpoints when it starts, and in which it looks for the
    gateway: docker_gwbridge last, internal networks after the others, then by network name (Docker's
    names: predefined networks by their own, the scenario's nl<run>-<name>). Measured on Docker 20.10.24: a
    container created on `zz` and connected to `aa` before it starts gets eth0 on `aa` and its default route
    there; created on an internal network and connected to a normal one, eth0 and the route are the normal's."""

    def key(a: Attachment) -> tuple[bool, bool, str]:
        net = t.network(a.network)
        return (a.network == GWBRIDGE, net.internal, net.name if net.predefined else f"nl-{net.name}")

    return sorted(attachments, key=key)


def l3_ipvlan(t: Networks, network: str) -> bool:
    net = t.network(network)
    return net.driver == Driver.IPVLAN and net.mode in ("l3", "l3s")


def gateway_attachment(t: Networks, c: Container) -> Attachment | None:
    """The endpoint Docker takes the default route from (and programs published ports on): the first, in
    Docker's order, whose network gives one. ipvlan L3 gives `default dev eth<i>` with no next hop; overlay
    none (docker_gwbridge does); an internal bridge network its gateway, but only when nothing else does."""
    return gateway_of(t, c.attachments)


def gateway_of(t: Networks, attachments: Sequence[Attachment]) -> Attachment | None:
    """gateway_attachment, for endpoints before their container is built."""
    for att in docker_order(t, attachments):
        net = t.network(att.network)
        if net.internal and net.driver != Driver.BRIDGE:
            continue
        if l3_ipvlan(t, att.network):
            return att
        if net.driver == Driver.OVERLAY or net.gateway is None:
            continue
        return att
    return None


def uses_embedded_dns(t: Topology, c: Container) -> bool:
    """Docker gives a container the embedded resolver (127.0.0.11) when it is on a user-defined network in a
    namespace of its own; the default bridge and host networking copy the host's resolv.conf."""
    return not shares_node_ns(t, c) and any(t.network(a.network).user_defined for a in c.attachments)


#: the zone key of a name's IPv6 address (netlab/probes/dns.py answers AAAA from "NAME AAAA")
AAAA_KEY = " AAAA"


def embedded_zone(t: Topology, c: Container, containers: Iterable[Container]) -> dict[str, str]:
    """The names the embedded DNS answers for `c` (name -> address), among `containers` as they are now: every
    container sharing one of c's user-defined networks by its name and as `name.network`, and that network's
    aliases (a name on two shared networks answers with the first address found), and c's own link aliases."""
    user_nets = {a.network for a in c.attachments if t.network(a.network).user_defined}
    zone: dict[str, str] = {}
    for other in containers:
        name = other.docker_name or other.name
        for a in other.attachments:
            if a.network in user_nets and a.address is not None:
                six = t.network(a.network).v6_for(a)
                records = {"": str(a.address), **({AAAA_KEY: str(six)} if six is not None else {})}
                for suffix, text in records.items():  # AAAA: its IPv6 address on a dual-stack network
                    zone.setdefault(name + suffix, text)
                    zone[f"{name}.{a.network}{suffix}"] = text
                    for alias in a.aliases:  # Docker's network aliases: on that network only
                        zone.setdefault(alias + suffix, text)
    # Docker asks its endpoints' link aliases before any name: an alias resolves to the linked container's address
    # on the first of c's user-defined networks that container is on too
    found = {other.name: other for other in containers}
    for target, alias in c.links:
        linked = found.get(target)
        addresses = {a.network: a.address for a in linked.attachments if a.address is not None} if linked else {}
        shared = [addresses[a.network] for a in c.attachments if a.network in user_nets and a.network in addresses]
        if shared:
            zone[alias] = str(shared[0])
    return zone
