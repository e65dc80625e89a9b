"""The frozen topology: what a scenario declares, after validation and address allocation.

Pure data. No I/O, no backend handles (STYLE rule 1).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from netlab.model.addressing import mirror6


class Driver(StrEnum):
    BRIDGE = "bridge"
    HOST = "host"
    NONE = "none"
    MACVLAN = "macvlan"
    IPVLAN = "ipvlan"
    OVERLAY = "overlay"


#: an endpoint's address in either family (a v6 probe goes to an IPv6 one)
IPAddress = IPv4Address | IPv6Address

#: Docker's predefined networks, available by name in every scenario.
PREDEFINED = ("bridge", "host", "none")

#: The bridge Docker gives overlay containers for egress (created with the first overlay network).
GWBRIDGE = "docker_gwbridge"

#: The first node always exists and is called "host".
HOST = "host"

#: Name of the stage holding the scenario's top-level expectations.
INITIAL = "initial"


class ProbeKind(StrEnum):
    ICMP = "icmp"
    TCP = "tcp"
    UDP = "udp"
    DNS = "dns"


@dataclass(frozen=True, slots=True)
class Probe:
    kind: ProbeKind
    port: int | None = None
    name: str | None = None
    #: over IPv6 (`icmp6`, `tcp6:PORT`, `udp6:PORT`, `dns6:NAME`: an AAAA lookup): to the destination's IPv6
    #: address, from the source's
    v6: bool = False

    def __str__(self) -> str:
        six = "6" if self.v6 else ""
        if self.kind is ProbeKind.ICMP:
            return f"icmp{six}"
        if self.kind is ProbeKind.DNS:
            return f"dns{six}:{self.name}"
        return f"{self.kind}{six}:{self.port}"

    @property
    def family(self) -> int:
        return 6 if self.v6 else 4


ICMP = Probe(ProbeKind.ICMP)
ICMP6 = Probe(ProbeKind.ICMP, v6=True)


class EndpointKind(StrEnum):
    CONTAINER = "container"
    HOST = "host"
    PEER = "peer"


@dataclass(frozen=True, slots=True)
class Node:
    name: str


@dataclass(frozen=True, slots=True)
class Lan:
    """A simulated physical segment, or a VLAN of one (`trunk`: the lan whose wire carries it tagged with `vid`;
    named `<trunk>.<vid>` as Docker names a parent's sub-interface). A VLAN has a subnet of its own; nodes have no
    address on it (the 802.1Q sub-interface Docker creates for a `parent=eth0.50` carries none)."""

    name: str
    subnet: IPv4Network
    trunk: str | None = None
    vid: int | None = None
    #: dual stack (`lan(..., ipv6=True)`): its IPv6 subnet; an uplink's or peer's IPv6 address has its IPv4 host part
    subnet6: IPv6Network | None = None

    def v6_of(self, address: IPv4Address | None) -> IPv6Address | None:
        return mirror6(self.subnet, self.subnet6, address)


@dataclass(frozen=True, slots=True)
class Uplink:
    """A node's interface on a lan (the "parent" of macvlan/ipvlan networks)."""

    node: str
    lan: str
    address: IPv4Address
    ifname: str


@dataclass(frozen=True, slots=True)
class Peer:
    name: str
    lan: str
    address: IPv4Address
    #: a router's further legs, (lan, address) each, on lans or VLANs other than `lan` (Scenario.router)
    legs: tuple[tuple[str, IPv4Address], ...] = ()

    @property
    def router(self) -> bool:
        return bool(self.legs)

    @property
    def addresses(self) -> tuple[tuple[str, IPv4Address], ...]:
        """(lan, address) of every leg, the first lan's first."""
        return ((self.lan, self.address), *self.legs)


#: the drivers with a mode: Docker's option for it and its default
MODE_OPTIONS = {Driver.MACVLAN: ("macvlan_mode", "bridge"), Driver.IPVLAN: ("ipvlan_mode", "l2")}


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    driver: Driver
    subnet: IPv4Network | None = None
    gateway: IPv4Address | None = None
    parent: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    internal: bool = False
    predefined: bool = False
    #: Linux bridge name as Docker would pick it (docker0, br-<12 hex>), bridge driver only.
    bridge_name: str | None = None
    #: further subnets (macvlan/ipvlan: `--subnet A --subnet B`); `subnet` is the first
    more_subnets: tuple[IPv4Network, ...] = ()
    #: an existing Docker network the scenario uses as it is (compose's `external: true`): its name on the daemon.
    #: Neither created nor removed; its subnet and its containers' addresses are Docker's (docker backend only)
    external: str | None = None
    #: macvlan/ipvlan without a parent: the dummy link Docker creates as their parent on each node (dm-<id>,
    #: di-<id>), with nothing else on it: the children reach each other and nothing else
    dummy: str | None = None
    #: dual stack (`ipv6=True`, Docker's `--ipv6 --subnet <v6>`): its IPv6 subnet; an endpoint's IPv6 address is
    #: its IPv4 address's host part in it (addressing.mirror6), the gateway's too; on the i-th further IPv4 subnet
    #: (more_subnets) the host part goes i << 32 higher, so no two endpoints share one
    subnet6: IPv6Network | None = None

    @property
    def ipv6(self) -> bool:
        return self.subnet6 is not None

    def v6_of(self, address: IPv4Address | None) -> IPv6Address | None:
        """The IPv6 address that goes with one of this network's IPv4 addresses (None on an IPv4-only network)."""
        home = self.subnet_for(address) if address is not None and self.subnet6 is not None else None
        mirrored = mirror6(home, self.subnet6, address)
        if home is None or mirrored is None:
            return None
        return mirrored + (self.subnets.index(home) << 32)

    def v6_for(self, attachment: Attachment) -> IPv6Address | None:
        """A container's IPv6 address on this network: the one it was given (`ip6=`, compose's `ipv6_address`),
        else the one that goes with its IPv4 address."""
        if attachment.address6 is not None and self.subnet6 is not None:
            return attachment.address6
        return self.v6_of(attachment.address)

    @property
    def gateway6(self) -> IPv6Address | None:
        return self.v6_of(self.gateway)

    @property
    def subnets(self) -> tuple[IPv4Network, ...]:
        return ((self.subnet,) if self.subnet else ()) + self.more_subnets

    def subnet_for(self, address: IPv4Address) -> IPv4Network | None:
        return next((s for s in self.subnets if address in s), None)

    def gateway_for(self, address: IPv4Address | None) -> IPv4Address | None:
        """The gateway of the subnet an endpoint's address is in: `gateway` for the first subnet, Docker's
        default (the first usable address) for the further ones (`--subnet A --subnet B`)."""
        home = self.subnet_for(address) if address is not None else None
        return self.gateway if home is None else self.gateway_of(home)

    def gateway_of(self, subnet: IPv4Network) -> IPv4Address | None:
        """The gateway of one of this network's subnets (see gateway_for)."""
        return self.gateway if subnet == self.subnet else subnet.network_address + 1

    def option(self, key: str, default: str) -> str:
        return str(self.options.get(key, default)).lower()

    @property
    def mode(self) -> str | None:
        """A macvlan or ipvlan network's mode (Docker's default where the scenario names none); None for the others."""
        found = MODE_OPTIONS.get(self.driver)
        return self.option(*found) if found else None

    @property
    def icc(self) -> bool:
        return self.option("com.docker.network.bridge.enable_icc", "true") == "true"

    @property
    def mtu(self) -> int | None:
        """com.docker.network.driver.mtu: Docker sets it on the bridge and both ends of every veth."""
        text = self.options.get("com.docker.network.driver.mtu")
        return int(text) if text else None

    @property
    def masquerade(self) -> bool:
        return self.option("com.docker.network.bridge.enable_ip_masquerade", "true") == "true"

    @property
    def user_defined(self) -> bool:
        """Docker gives user-defined networks embedded DNS; predefined ones have none."""
        return not self.predefined

    @property
    def has_addresses(self) -> bool:
        return self.driver not in (Driver.HOST, Driver.NONE)


@dataclass(frozen=True, slots=True)
class Attachment:
    network: str
    address: IPv4Address | None
    #: more names the container answers to by DNS on this network (Docker's network aliases)
    aliases: tuple[str, ...] = ()
    #: the IPv6 address it was given on a dual-stack network (Docker's `--ip6`); None: the one that goes with its
    #: IPv4 address (Network.v6_for)
    address6: IPv6Address | None = None


@dataclass(frozen=True, slots=True)
class Publish:
    host_port: int
    container_port: int
    proto: str = "tcp"
    #: the host address the port is published on (`-p 127.0.0.1:8080:80`); None: every address (0.0.0.0 and
    #: ::). Scenarios give IPv4 ones; an IPv6 one publishes on IPv6 only (the engine profiles' tests)
    host_ip: IPAddress | None = None


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    node: str
    attachments: tuple[Attachment, ...]
    publish: tuple[Publish, ...] = ()
    #: the container whose network namespace this one joins (Docker's `--network container:NAME`, compose's
    #: `network_mode: service:NAME`): no attachments of its own, that container's addresses and resolver
    joins: str | None = None
    #: its name on the Docker daemon, where the tables call it otherwise (`netlab scan` names a compose project's
    #: containers by their service): the name Docker's embedded DNS answers
    docker_name: str | None = None
    #: Docker's links on user-defined networks (`--link db:database`, compose's `links: ["db:database"]`):
    #: (container, alias) pairs; the alias resolves to that container's address for this container only
    links: tuple[tuple[str, str], ...] = ()
    #: kernel settings of its network namespace (`--sysctl net.KEY=VALUE`, compose's `sysctls`), set after its
    #: interfaces exist, as Docker does
    sysctls: tuple[tuple[str, str], ...] = ()
    #: the sockets its application listens on (`listen=["tcp:8081"]`), bound to every address of its namespace
    #: when it starts: the only ports it answers on (netlab plants no listener for a container that declares
    #: its own); in a shared namespace (host networking) the first container to bind a port holds it
    listen: tuple[Probe, ...] = ()

    def sysctl(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.sysctls if k == key), default)


@dataclass(frozen=True, slots=True)
class Expectation:
    stage: str
    src: str
    dst: str
    probe: Probe
    reachable: bool
    claim: str | None = None
    address: IPAddress | None = None
    #: the host/engine facts under which it holds (netlab/model/conditions.py); () everywhere
    when: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Measurement:
    """A cell measured and reported with no outcome expected (`s.measure`): what a compose file or a scan
    asks about before anyone has said what the answer should be."""

    stage: str
    src: str
    dst: str
    probe: Probe
    address: IPAddress | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """Add a static route on an endpoint (peer, node or container); towards a dual-stack network or lan over a
    dual-stack lan, its IPv6 route too (`subnet6` via `via6`)."""

    target: str
    subnet: IPv4Network
    via: IPv4Address
    subnet6: IPv6Network | None = None
    via6: IPv6Address | None = None


@dataclass(frozen=True, slots=True)
class Shim:
    """Give a node a macvlan interface of its own on a lan (reach its macvlan children)."""

    node: str
    lan: str
    address: IPv4Address


@dataclass(frozen=True, slots=True)
class Connect:
    container: str
    network: str
    address: IPv4Address | None


@dataclass(frozen=True, slots=True)
class Disconnect:
    container: str
    network: str


@dataclass(frozen=True, slots=True)
class UserRule:
    """A rule of the user's in a node's DOCKER-USER chain, which Docker's FORWARD chain evaluates before any rule
    of Docker's own (`iptables -I DOCKER-USER RULE`): `rule` in iptables syntax after the chain's name, each
    address in it inside the scenario's own subnets."""

    node: str
    rule: str

    @property
    def argv(self) -> list[str]:
        return self.rule.split()


@dataclass(frozen=True, slots=True)
class Forward:
    """A router starts forwarding between its legs (net.ipv4.ip_forward=1 in its namespace)."""

    router: str


Action = Route | Shim | Connect | Disconnect | UserRule | Forward


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    doc: str
    actions: tuple[Action, ...]
    expectations: tuple[Expectation, ...]
    measurements: tuple[Measurement, ...] = ()


@dataclass(frozen=True, slots=True)
class Topology:
    name: str
    title: str
    doc: str
    nodes: tuple[Node, ...]
    lans: tuple[Lan, ...]
    uplinks: tuple[Uplink, ...]
    peers: tuple[Peer, ...]
    networks: tuple[Network, ...]
    containers: tuple[Container, ...]
    stages: tuple[Stage, ...]
    source: str = ""
    warnings: tuple[str, ...] = ()
    #: lecture claims (netlab/model/claims.py) checked on this run's evidence: (claim id, expected to hold)
    claims: tuple[tuple[str, bool], ...] = ()
    #: where in the pool the subnets netlab picked start (Scenario.build): the same file and offset give the
    #: same topology again (`netlab why` on a kept run)
    subnet_offset: int = 0
    #: subnets used as the user wrote them, outside netlab's pool (`netlab compose --keep-subnets`)
    own_subnets: bool = False
    #: options the scenario's Docker daemons are started with (Scenario.daemon), dockerd's names and spelling:
    #: (("icc", "false"), ("ip", "127.0.0.1"), ("userland-proxy", "false")); () Docker's defaults
    daemon: tuple[tuple[str, str], ...] = ()

    @property
    def dual_stack(self) -> bool:
        """Some network or lan has IPv6 (subnet6): every pair is probed with icmp6 too."""
        return any(n.ipv6 for n in self.networks) or any(lan.subnet6 is not None for lan in self.lans)

    def daemon_option(self, key: str) -> str | None:
        return dict(self.daemon).get(key)

    def daemon_flags(self) -> list[str]:
        """dockerd's command-line flags for the scenario's daemon options: `--ip6tables` goes with
        `--experimental`, which Docker before 27 requires for it (later releases accept it and ignore it here)."""
        flags = [f"--{k}={v}" for k, v in self.daemon]
        return ["--experimental", *flags] if self.daemon_option("ip6tables") == "true" else flags

    # -- lookups (pure) -------------------------------------------------
    def network(self, name: str) -> Network:
        for n in self.networks:
            if n.name == name:
                return n
        raise KeyError(name)

    def container(self, name: str) -> Container:
        for c in self.containers:
            if c.name == name:
                return c
        raise KeyError(name)

    def attachments_of(self, container: str) -> tuple[Attachment, ...]:
        """The networks a container's namespace is on: its own, or those of the container it joins."""
        c = self.container(container)
        return self.container(c.joins).attachments if c.joins else c.attachments

    def lan(self, name: str) -> Lan:
        for lan in self.lans:
            if lan.name == name:
                return lan
        raise KeyError(name)

    def segment(self, network: str, node: str) -> str:
        """The L2/L3 segment an address on `network` sits on: lans and overlays are shared by every
        node, bridges are local to their node, macvlan/ipvlan children sit on their parent lan."""
        net = self.network(network)
        if net.driver in (Driver.MACVLAN, Driver.IPVLAN) and net.parent is not None:
            return f"lan:{net.parent}"
        if net.driver == Driver.OVERLAY:
            return net.name
        return f"{node}/{net.name}"

    def wires(self) -> tuple[Lan, ...]:
        """The lans that are a wire of their own (a bridge and a namespace each); a VLAN rides on its trunk's."""
        return tuple(lan for lan in self.lans if lan.trunk is None)

    def parent_device(self, node: str, network: str) -> str | None:
        """The link a macvlan/ipvlan network's children hang from on `node`: the node's uplink on the parent lan,
        its 802.1Q sub-interface `<uplink>.<vid>` for a VLAN parent, or Docker's dummy link when none was given."""
        net = self.network(network)
        if net.dummy:
            return net.dummy
        if net.parent is None:
            return None
        lan = self.lan(net.parent)
        up = self.uplink(node, lan.trunk or lan.name)
        if up is None:
            return None
        return f"{up.ifname}.{lan.vid}" if lan.trunk else up.ifname

    def uplinks_of(self, node: str) -> tuple[Uplink, ...]:
        return tuple(u for u in self.uplinks if u.node == node)

    def uplink(self, node: str, lan: str) -> Uplink | None:
        for u in self.uplinks:
            if u.node == node and u.lan == lan:
                return u
        return None

    def endpoint_kind(self, name: str) -> EndpointKind:
        if any(n.name == name for n in self.nodes):
            return EndpointKind.HOST
        if any(p.name == name for p in self.peers):
            return EndpointKind.PEER
        return EndpointKind.CONTAINER

    def endpoint_names(self) -> tuple[str, ...]:
        """Every probe endpoint in a stable order: nodes, containers, peers."""
        return (
            tuple(n.name for n in self.nodes)
            + tuple(c.name for c in self.containers)
            + tuple(p.name for p in self.peers)
        )

    def networks_on(self, node: str) -> tuple[Network, ...]:
        """Local networks a node has, in creation order: the default bridge, then every network
        its containers use in any stage (Docker creates networks before containers join them).
        A network no container uses is created on the first node."""
        used_here: set[str] = set()
        used_anywhere: set[str] = set()
        for stage_containers in self.containers_by_stage():
            for c in stage_containers:
                names = {a.network for a in c.attachments}
                used_anywhere |= names
                if c.node == node:
                    used_here |= names
        first = node == self.nodes[0].name
        return tuple(
            n
            for n in self.networks
            if n.name == "bridge" or n.name in used_here or (first and n.name not in used_anywhere)
        )

    def user_rules(self, stage_index: int, node: str) -> tuple[UserRule, ...]:
        """The DOCKER-USER rules in force on `node` in a stage (the scenario's own, then each stage's, in order);
        Docker evaluates the chain top down, and netlab keeps the rules in the order they were declared."""
        return tuple(
            a
            for stage in self.stages[: stage_index + 1]
            for a in stage.actions
            if isinstance(a, UserRule) and a.node == node
        )

    def containers_by_stage(self) -> Iterator[tuple[Container, ...]]:
        """The container set as it is in each stage (connect/disconnect change attachments)."""
        for i in range(len(self.stages)):
            yield self.containers_at(i)

    def containers_at(self, stage_index: int) -> tuple[Container, ...]:
        current = {c.name: c for c in self.containers}
        for stage in self.stages[1 : stage_index + 1]:
            for action in stage.actions:
                if isinstance(action, Connect):
                    c = current[action.container]
                    att = (*c.attachments, Attachment(action.network, action.address))
                    current[c.name] = replace(c, attachments=att)
                elif isinstance(action, Disconnect):
                    c = current[action.container]
                    att = tuple(a for a in c.attachments if a.network != action.network)
                    current[c.name] = replace(c, attachments=att)
        return tuple(current.values())
