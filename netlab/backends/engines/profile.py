"""What an engine profile is: the rules one Docker release writes for a node's networks and published ports
(netlab/backends/engines/__init__.py lists them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from netlab.model.topology import Driver, IPAddress, Network, Publish


@dataclass(frozen=True, slots=True)
class Published:
    network: Network
    address: IPv4Address
    publish: Publish
    address6: IPv6Address | None = None  # the container's IPv6 address there (a dual-stack network)


@dataclass(frozen=True, slots=True)
class Host:
    """The host knobs a profile's rules depend on: whether the daemon set the FORWARD policy to DROP (it does
    when it turned IP forwarding on itself; netlab takes a host that forwarded IPv4 before Docker to forward
    IPv6 too) and whether it runs the userland proxy (docker-proxy); `ipv6`: the node has an IPv6 network, so
    the IPv6 rules are rendered (a daemon with ip6tables writes its empty IPv6 chains at start; netlab leaves
    them out where no IPv6 network could use them); `ip6tables`: the daemon writes IPv6 rules at all (dockerd's
    --ip6tables; None: the release's default, Profile.ip6tables: off before 27, and experimental there, on
    since)."""

    forward_drop: bool = True
    userland_proxy: bool = True
    ipv6: bool = False
    ip6tables: bool | None = None


#: a fresh host: Docker turned IP forwarding on and set the policy DROP; docker-proxy runs
DOCKER_DEFAULTS = Host()


@dataclass(frozen=True, slots=True)
class Rules:
    iptables: str = ""  # iptables-restore text ('' when the profile writes none)
    nftables: str = ""  # an `nft -f` script ('' when the profile writes none; its IPv6 table included)
    ip6tables: str = ""  # ip6tables-restore text ('' when the profile writes none)


@dataclass(frozen=True, slots=True)
class Family:
    """One IP family as Docker's rules spell it: the same code writes both, with these words changed."""

    version: int  # 4 | 6
    host_prefix: int  # a single address: /32, /128
    loopback: str  # the nat OUTPUT exception of docker-proxy hosts
    nft: str  # the nftables family and its address keyword

    def subnet(self, net: Network) -> IPv4Network | IPv6Network | None:
        return net.subnet if self.version == 4 else net.subnet6

    def bridges(self, networks: Sequence[Network]) -> list[Network]:
        """The bridge networks this family's rules are written for (IPv6: the dual-stack ones)."""
        return [n for n in networks if n.driver == Driver.BRIDGE and (self.version == 4 or n.subnet6 is not None)]

    def address(self, p: Published) -> IPAddress | None:
        """The published container's address in this family (None: it has none, or the port is published on a
        host address of the other family)."""
        if p.publish.host_ip is not None and p.publish.host_ip.version != self.version:
            return None
        return p.address if self.version == 4 else p.address6

    def endpoint(self, address: IPAddress, port: int) -> str:
        """A DNAT target, as iptables-save and nft print it."""
        return f"{address}:{port}" if self.version == 4 else f"[{address}]:{port}"


V4 = Family(4, 32, "127.0.0.0/8", "ip")
V6 = Family(6, 128, "::1/128", "ip6")


@dataclass(frozen=True, slots=True)
class Profile:
    name: str  # what --engine takes
    version: str  # the release whose rules these are
    firewall_backend: str  # iptables | nftables
    #: whether the daemon sets the FORWARD policy (iptables profiles: DROP when it enabled forwarding itself)
    sets_forward_policy: bool
    source: str  # where the rules were checked
    render: Callable[[Sequence[Network], Sequence[Published], Host], Rules]
    embedded_dns: Callable[[int, int], Rules]
    #: whether the release writes IPv6 rules when not told (dockerd --ip6tables: the default since 27)
    ip6tables: bool = True

    @property
    def title(self) -> str:
        return f"Docker {self.version} ({self.firewall_backend})"
