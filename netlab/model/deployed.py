"""What a deployment hands the layers above it: endpoints with their addresses and namespaces, capture
points, and the listeners probing needs. Plain data, seen by every layer (backends fill them in; probes,
evidence, reports and the JSON read them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from netlab.model.topology import EndpointKind, Topology


@dataclass(frozen=True, slots=True)
class Address:
    """One address of an endpoint; `segment` identifies the L2/L3 segment it sits on."""

    network: str  # network or lan name (as in the JSON's endpoints.addresses)
    segment: str  # "lan:<lan>", "<node>/<network>" for node-local networks, "<network>" for global ones
    address: IPv4Address
    #: its IPv6 address on a dual-stack network (Network.subnet6), else None
    address6: IPv6Address | None = None


@dataclass(slots=True)
class Endpoint:
    name: str
    kind: EndpointKind
    node: str | None
    netns: str | None  # path of the network namespace probes run in; None: no namespace (not running)
    addresses: list[Address] = field(default_factory=list)

    def primary(self) -> IPv4Address | None:
        return self.addresses[0].address if self.addresses else None

    def primary6(self) -> IPv6Address | None:
        """Its first IPv6 address (the first dual-stack network it is on), or None."""
        return next((a.address6 for a in self.addresses if a.address6 is not None), None)


@dataclass(frozen=True, slots=True)
class CapturePoint:
    """An interface netlab can capture on while probing (netlab/evidence/capture.py)."""

    name: str  # unique in the run, used in pcap file names: "lan0", "host-front"
    netns: str
    ifname: str
    role: str  # "lan": everything on the simulated LAN; "bridge": a node's Linux bridge (ARP only without pcaps)
    node: str | None = None
    #: put the interface in promiscuous mode while capturing (a bridge then shows what it forwards);
    #: False for interfaces netlab did not create
    promisc: bool = True


@dataclass(frozen=True, slots=True)
class Listen:
    netns: str
    #: "tcp" | "udp" (echo) | "dns" (answers A queries from `zone`, NXDOMAIN otherwise) | "dnstcp" (the same
    #: over TCP, RFC 1035 4.2.2 length-prefixed)
    proto: str
    port: int
    bind: str = "0.0.0.0"
    zone: tuple[tuple[str, str], ...] = ()
    #: tcp/udp only: relay to this (address, port) instead of answering, from the same namespace, as Docker's
    #: userland proxy (docker-proxy) does for a published port: TCP connections are accepted at once and a
    #: connection to the upstream opened; UDP datagrams go upstream and the upstream's answers come back
    upstream: tuple[str, int] | None = None
    #: the container whose application this socket stands for (Container.listen); "" for netlab's own
    owner: str = ""
    #: bind "::" for IPv6 only (IPV6_V6ONLY), beside an IPv4 socket on the same port, as docker-proxy's `-host-ip ::`
    v6only: bool = False


def segment(t: Topology, name: str, node: str | None) -> str:
    """The segment of an endpoint's address on `name` (a network of `node`, else a lan)."""
    if node is not None and any(n.name == name for n in t.networks):
        return t.segment(name, node)
    return f"lan:{name}"
