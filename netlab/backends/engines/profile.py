"""What an engine profile is: the rules one Docker release writes for a node's networks and published ports
(netlab/backends/engines/__init__.py lists them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from netlab.model.topology import Network, Publish


@dataclass(frozen=True, slots=True)
class Published:
    network: Network
    address: IPv4Address
    publish: Publish


@dataclass(frozen=True, slots=True)
class Host:
    """The host knobs a profile's rules depend on: whether the daemon set the FORWARD policy to DROP (it does
    when it turned IP forwarding on itself) and whether it runs the userland proxy (docker-proxy)."""

    forward_drop: bool = True
    userland_proxy: bool = True


#: a fresh host: Docker turned IP forwarding on and set the policy DROP; docker-proxy runs
DOCKER_DEFAULTS = Host()


@dataclass(frozen=True, slots=True)
class Rules:
    iptables: str = ""  # iptables-restore text ('' when the profile writes none)
    nftables: str = ""  # an `nft -f` script ('' when the profile writes none)


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

    @property
    def title(self) -> str:
        return f"Docker {self.version} ({self.firewall_backend})"
