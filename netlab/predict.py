"""Docker's reachability, predicted from Docker's own rules: what each measured cell should be on the engine the run
emulates or talks to, and why.

`netlab compose` and `netlab scan` measure a matrix nobody wrote down; the predictor says what Docker's semantics
make of the same topology (networks, internal, icc, masquerade, published ports, network modes, routes and shims
of the stages), cell by cell, with the rule behind each answer. Where Docker's truth depends on the machine (the
FORWARD policy Docker 20.10 leaves, the engine version) a cell is predicted per condition, in the words of
`when=` (netlab/model/conditions.py), and the run's facts pick the variant, as for a scenario's expectations.

A prediction is a set of expectations: `judge` compares them with the observations through the same verdict as
any expectation, so "measured equals Docker's semantics" is an ordinary verdict (`--check predicted`). Cells the
rules below do not cover (overlay, routing between nodes, gateways on a lan) are left unpredicted and listed,
never guessed.

The rules, in the order they are tried for a probe from S to address A of D:
  dns       a container on a user-defined network (own namespace) asks Docker's embedded DNS, which answers the
            names of the containers sharing one of those networks (name, name.network, aliases); every other
            resolver is the machine's (netlab's own knows no names)
  no addr   D has no IPv4 address: nothing to send to (network none)
  same ns   S and D are one namespace (host networking, container:X): delivered locally
  publish   A is a node address and the probe's port is published there: DNAT to the container (from the node,
            from a lan, from the container's own bridge through docker-proxy or hairpin NAT); from another bridge
            network the DNATed packet is dropped by the isolation rules
  on-link   A is on one of S's networks: a bridge passes it unless icc is off; macvlan/ipvlan children reach each
            other (not in macvlan private or vepa mode), the lan, but never their own parent (unless a shim)
  routed    otherwise through S's default route: a bridge's gateway is the node, which delivers its own
            addresses, isolates other bridge networks and internal ones, and sends lan traffic out masqueraded
            (without NAT the far side needs a route back); a peer reaches a bridge container only with a route
            via the node and only where the engine lets routed traffic in (20.10: the FORWARD policy or a
            published port; 28 and later: never)
  IPv6      icmp6/tcp6/udp6/dns6 follow the same steps on the dual-stack networks and lans (fate6), with Docker's
            IPv6 rules where the daemon writes them (`ip6tables`: by default since 27, before only with
            --experimental --ip6tables): without, no isolation, no NAT66, routed access open; with, the IPv4 ones
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from netlab.i18n import _
from netlab.model import dockerrules
from netlab.model.conditions import When
from netlab.model.deployed import Endpoint
from netlab.model.results import Observation, Outcome
from netlab.model.topology import (
    Container,
    Driver,
    EndpointKind,
    Expectation,
    Forward,
    IPAddress,
    Network,
    Probe,
    ProbeKind,
    Route,
    Shim,
    Topology,
)
from netlab.verdict import Check, Verdict, compare

#: (condition, reachable, the rule that decides it)
Variant = tuple[When, bool, str]
OLD = (("engine", "<28"),)
NEW = (("engine", ">=28"),)
OLD29 = (("engine", "<29"),)
NEW29 = (("engine", ">=29"),)
#: whether the daemon writes IPv6 rules (dockerd --ip6tables: the default since 27; before only with
#: --experimental --ip6tables)
NO_IP6TABLES = (("ip6tables", "off"),)
IP6TABLES = (("ip6tables", "on"),)
#: Docker 25.0 stopped an internal network's IPv6 DROPs from matching what stays on its bridge (moby da9e44a620)
OLD25 = (("engine", "<25"),)
NEW25 = (("engine", ">=25"),)


@dataclass(frozen=True, slots=True)
class Cell:
    """One measured cell and Docker's answer for it: `variants` (one per condition), or None with `reason` saying
    why the rules cannot tell."""

    stage: str
    src: str
    dst: str
    probe: Probe
    address: IPAddress | None
    variants: tuple[Variant, ...] | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Prediction:
    cells: tuple[Cell, ...]
    verdict: Verdict
    #: the run's topology with the predicted cells as its expectations (what the reports lay out as tables)
    topology: Topology
    #: the engine the prediction was made for (the run's engine_version fact)
    engine: str | None = None

    @property
    def unpredicted(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.variants is None)

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def why(self, stage: str, src: str, dst: str, probe: str, address: IPAddress | None) -> str:
        """The rule behind a predicted cell ('' when it has none)."""
        for c in self.cells:
            if (c.stage, c.src, c.dst, str(c.probe), c.address) == (stage, src, dst, probe, address):
                return c.reason if c.variants is None else _reason(c, self.verdict)
        return ""

    def evidence(self, check: Check) -> str:
        """What the measurement says about a cell that is not as predicted: a reset means the packet arrived and
        nothing listens (the image does not serve that port); a trace (`--why`) names the rule; else the probe's
        own words."""
        o, e = check.observation, check.expectation
        if o is None:
            return "not measured"
        if o.outcome is Outcome.UNREACHABLE and "connection refused" in o.detail:
            return (
                f"{e.dst} answered with a TCP reset: Docker let the packet through, but nothing listens on "
                f"{e.probe.port} there (the image does not serve that port)"
            )
        if o.why:
            return f"traced: {o.why}"
        return o.detail

    def summary(self) -> str:
        v = self.verdict
        s = _("{correct} as predicted, {wrong} not").format(correct=v.correct, wrong=v.wrong)
        s += _(", {errors} errors").format(errors=v.errors) if v.errors else ""
        unpredicted = _(", {count} not predicted").format(count=len(self.unpredicted))
        return s + (unpredicted if self.unpredicted else "")


def _reason(c: Cell, verdict: Verdict) -> str:
    if c.variants is None:
        return c.reason
    for check in verdict.checks:
        e = check.expectation
        if (e.stage, e.src, e.dst, e.probe, e.address) == (c.stage, c.src, c.dst, c.probe, c.address):
            for when, reachable, why in c.variants:
                if when == e.when and reachable == e.reachable:
                    return why
    return c.variants[0][2]


def predict(
    topology: Topology, endpoints: Mapping[str, Endpoint], observations: Sequence[Observation]
) -> tuple[Cell, ...]:
    """Docker's answer for every observed cell (withheld probes, which were never sent, are left out)."""
    out = []
    rules = {s.name: _Rules(topology, i, endpoints) for i, s in enumerate(topology.stages)}
    for o in observations:
        if o.outcome is Outcome.ERROR and o.detail.startswith("not sent"):
            continue
        r = rules[o.stage]
        try:
            fate = r.fate(o.src, o.dst, o.address, o.probe)
        except _Unknown as e:
            out.append(Cell(o.stage, o.src, o.dst, o.probe, o.address, None, str(e)))
            continue
        out.append(Cell(o.stage, o.src, o.dst, o.probe, o.address, tuple(fate)))
    return tuple(out)


def judge(
    topology: Topology,
    endpoints: Mapping[str, Endpoint],
    observations: Sequence[Observation],
    environment: Mapping[str, Any],
) -> Prediction:
    """The prediction of every observed cell, compared with what was measured (the run's facts choose each cell's
    variant, as for a conditional expectation)."""
    cells = predict(topology, endpoints, observations)
    by_stage: dict[str, list[Expectation]] = {}
    for c in cells:
        for when, reachable, _why in c.variants or ():
            by_stage.setdefault(c.stage, []).append(
                Expectation(c.stage, c.src, c.dst, c.probe, reachable, address=c.address, when=when)
            )
    stages = tuple(replace(s, expectations=tuple(by_stage.get(s.name, ()))) for s in topology.stages)
    predicted = replace(topology, stages=stages)
    verdict = compare(predicted, observations, environment)
    engine = environment.get("engine_version")
    return Prediction(cells, verdict, predicted, str(engine) if engine is not None else None)


class _Unknown(Exception):
    """The rules do not cover this cell (the message says what is missing)."""


@dataclass(slots=True)
class _Place:
    """A network namespace as the rules see it: a node's, a container's, a peer's, or one with loopback only."""

    kind: str  # "node" | "ctr" | "peer" | "none"
    name: str  # the node, the container owning the namespace, the peer
    node: str | None
    #: network (or lan, or `<lan>-shim` on a node) -> this namespace's address there
    nets: dict[str, IPv4Address] = field(default_factory=dict)
    #: dual-stack network -> this namespace's IPv6 address there
    nets6: dict[str, IPv6Address] = field(default_factory=dict)


def _on_link(net: Network, mine: IPv4Address, address: IPv4Address) -> bool:
    """Whether `address` is on the subnet a container's address `mine` has on `net` (a network of several subnets
    gives each container the on-link route of its own subnet only)."""
    home = net.subnet_for(mine)
    return home is not None and address in home


def _yes(why: str) -> list[Variant]:
    return [((), True, why)]


#: a container's sysctl that changes a cell netlab measures (others are taken to change none: the measurement says)
IGNORE_ECHO = "net.ipv4.icmp_echo_ignore_all"


def _no(why: str) -> list[Variant]:
    return [((), False, why)]


class _Rules:
    def __init__(self, t: Topology, stage_index: int, endpoints: Mapping[str, Endpoint]) -> None:
        self.t = t
        self.eps = endpoints
        self.ctrs = {c.name: c for c in t.containers_at(stage_index)}
        done = [a for s in t.stages[1 : stage_index + 1] for a in s.actions]
        self.routes = [a for a in done if isinstance(a, Route)]
        self.shims = [a for a in done if isinstance(a, Shim)]
        self.forwarding = {a.router for a in done if isinstance(a, Forward)}
        self._places: dict[str, _Place] = {}
        self._owners: dict[IPv4Address, tuple[_Place, str]] | None = None

    # -- places -------------------------------------------------------------
    def place(self, name: str) -> _Place:
        if name not in self._places:
            self._places[name] = self._place(name)
        return self._places[name]

    def _place(self, name: str) -> _Place:
        kind = self.t.endpoint_kind(name)
        if kind is EndpointKind.HOST:
            return self._node(name)
        if kind is EndpointKind.PEER:
            p = next(p for p in self.t.peers if p.name == name)
            legs6 = {lan: a6 for lan, a in p.addresses if (a6 := self.t.lan(lan).v6_of(a)) is not None}
            return _Place("peer", name, None, dict(p.addresses), legs6)
        c = self.ctrs[name]
        if dockerrules.shares_node_ns(self.t, c):
            return self._node(c.node)
        if c.joins:
            return self.place(c.joins)
        addresses = self.eps[name].addresses if name in self.eps else []
        known = {a.network: a.address for a in addresses}
        known6 = {a.network: a.address6 for a in addresses if a.address6 is not None}
        nets: dict[str, IPv4Address] = {}
        nets6: dict[str, IPv6Address] = {}
        for a in c.attachments:
            net = self.t.network(a.network)
            if net.has_addresses:
                address = known.get(a.network, a.address)
                if address is not None:
                    nets[a.network] = address
                six = known6.get(a.network) or net.v6_for(replace(a, address=address))
                if six is not None:
                    nets6[a.network] = six
        return _Place("ctr" if nets else "none", name, c.node, nets, nets6)

    def _node(self, node: str) -> _Place:
        nets = {u.lan: u.address for u in self.t.uplinks_of(node)}
        nets6 = {u.lan: a for u in self.t.uplinks_of(node) if (a := self.t.lan(u.lan).v6_of(u.address)) is not None}
        for net in self.t.networks_on(node):
            if net.driver == Driver.BRIDGE and net.gateway is not None:
                nets[net.name] = net.gateway
                if net.gateway6 is not None:
                    nets6[net.name] = net.gateway6
        if node in self.eps:  # the gateways Docker chose (docker backend), the shims made so far
            nets.update({a.network: a.address for a in self.eps[node].addresses})
            nets6.update({a.network: a.address6 for a in self.eps[node].addresses if a.address6 is not None})
        for s in self.shims:
            if s.node == node:
                nets[f"{s.lan}-shim"] = s.address
        return _Place("node", node, node, nets, nets6)

    def container(self, place: _Place) -> Container:
        return self.ctrs[place.name]

    def owner(self, address: IPv4Address) -> tuple[_Place, str] | None:
        """The namespace holding `address` and the network it holds it on."""
        if self._owners is None:
            self._owners = {}
            for name in self.t.endpoint_names():
                p = self.place(name)
                for net, a in p.nets.items():
                    self._owners.setdefault(a, (p, net))
        return self._owners.get(address)

    def children(self, lan: str) -> list[Network]:
        return [n for n in self.t.networks if n.driver in (Driver.MACVLAN, Driver.IPVLAN) and n.parent == lan]

    def lan_of(self, address: IPv4Address) -> str | None:
        return next((lan.name for lan in self.t.lans if address in lan.subnet), None)

    def has_route6(self, place: _Place, to: IPv6Address) -> IPv6Address | None:
        """The IPv6 next hop of a static route of a stage on `place` towards `to` (most specific first)."""
        mine = [r for r in self.routes if r.target == place.name and r.subnet6 is not None and to in r.subnet6]
        mine.sort(key=lambda r: r.subnet6.prefixlen if r.subnet6 else 0, reverse=True)
        return mine[0].via6 if mine else None

    def has_route(self, place: _Place, to: IPv4Address) -> IPv4Address | None:
        """The next hop of a static route of a stage on `place` towards `to` (most specific first)."""
        mine = [r for r in self.routes if r.target == place.name and to in r.subnet]
        mine.sort(key=lambda r: r.subnet.prefixlen, reverse=True)
        return mine[0].via if mine else None

    # -- the decision -------------------------------------------------------
    def off_overlay(self, on: str) -> list[Variant] | None:
        """An address on an overlay network, or on a macvlan/ipvlan network without a parent, from outside it:
        no host routes an overlay subnet, and a dummy parent has nothing else on it."""
        net = next((n for n in self.t.networks if n.name == on), None)  # `on` may be a lan, or a node's shim
        if net is not None and net.driver == Driver.OVERLAY:
            return _no(f"{on} is an overlay network: its subnet lives in Docker's sandboxes, routed by no host")
        if net is not None and net.dummy:
            return _no(f"{on} has no parent: its children sit on a dummy link with nothing else on it")
        return None

    def fate(self, src: str, dst: str, address: IPAddress | None, probe: Probe) -> list[Variant]:
        if probe.v6:
            return self.fate6(src, dst, address, probe)
        if probe.kind is ProbeKind.DNS:
            return self.dns(src, probe)
        if address is None or address.version != 4:
            return _no(f"{dst} has no IPv4 address (only loopback)")
        s, d = self.place(src), self.place(dst)
        if s.kind == "none":
            return _no(f"{src} has only loopback: no route to anything")
        if d.kind == "none":
            return _no(f"{dst} has only loopback")
        if probe.kind in (ProbeKind.TCP, ProbeKind.UDP):
            closed = self.nobody_listens(dst, d, probe)
            if closed is not None:
                return _no(closed)
        if probe.kind is ProbeKind.ICMP and d.kind == "ctr" and self.container(d).sysctl(IGNORE_ECHO, "0") != "0":
            return _no(f"{d.name} sets {IGNORE_ECHO}: its kernel answers no echo request")
        if (s.kind, s.name) == (d.kind, d.name):
            return _yes("one network namespace: delivered locally")
        on = next((net for net, a in d.nets.items() if a == address), None)
        if on is None:
            raise _Unknown(f"{address} is not an address netlab knows {dst} by")
        if d.kind == "node" and probe.kind in (ProbeKind.TCP, ProbeKind.UDP):
            published = self.published(s, d, address, on, probe)
            if published is not None:
                return published
        if s.kind == "ctr":
            return self.from_container(s, d, address, on, probe)
        outside = self.off_overlay(on)
        if outside is not None:
            return outside
        if s.kind == "node":
            return self.from_node(s, d, address, on)
        return self.from_peer(s, d, address, on, probe)

    # -- IPv6 --------------------------------------------------------------------
    def fate6(self, src: str, dst: str, address: IPAddress | None, probe: Probe) -> list[Variant]:
        """IPv6 on dual-stack networks and lans: a bridge passes it as it passes IPv4; between bridges, a node
        forwards it (Docker turned IPv6 forwarding on) and only ip6tables rules (the daemon's --ip6tables: Docker
        27 and later by default) isolate the networks, masquerade it to the lan (NAT66) and drop what a lan routes
        in; macvlan/ipvlan children are on their lan as over IPv4; an internal network is internal over IPv6 only
        where ip6tables is on. Overlay networks (IPv4-only in netlab) and routing between nodes are left
        unpredicted."""
        if probe.kind is ProbeKind.DNS:
            return self.dns(src, probe)
        s, d = self.place(src), self.place(dst)
        if s.kind == "none":
            return _no(f"{src} has only loopback: no route to anything")
        if address is None or address.version != 6:
            return _no(f"{dst} has no IPv6 address (its networks are IPv4-only)")
        if probe.kind in (ProbeKind.TCP, ProbeKind.UDP):
            closed = self.nobody_listens(dst, d, probe)
            if closed is not None:
                return _no(closed)
        if (s.kind, s.name) == (d.kind, d.name):
            return _yes("one network namespace: delivered locally")
        if not s.nets6:
            return _no(f"{src} has no IPv6 address (its networks are IPv4-only): nothing routes IPv6 from it")
        on = next((net for net, a in d.nets6.items() if a == address), None)
        if on is None:
            raise _Unknown(f"{address} is not an IPv6 address netlab knows {dst} by")
        if d.kind == "node" and probe.kind in (ProbeKind.TCP, ProbeKind.UDP):
            published = self.published6(s, d, on, probe, address)
            if published is not None:
                return published
        child = self._child_net(on) if d.kind == "ctr" else None
        if child is not None and child.dummy and s.kind in ("node", "peer"):
            return _no(f"{on} has no parent: its children are on a dummy link of their own, which nothing else is on")
        if s.kind == "node":
            if d.kind == "ctr" and d.node == s.name and child is None:
                return _yes(f"the host reaches its bridge {on} directly, over IPv6 too")
            if child is not None and child.parent in s.nets6:
                if d.node != s.name:
                    return _yes(f"another host's {child.driver} child on lan {child.parent}, over IPv6")
                shim = " (its shim carries IPv4 only)" if self._shim_reaches(s.name, child) else ""
                return _no(f"the host cannot talk to its own {child.driver} children through their parent{shim}")
            if on in s.nets6 and d.kind in ("peer", "node"):
                return _yes(f"on lan {on}, over IPv6")
            raise _Unknown(f"IPv6 from {src} to {dst}")
        if s.kind == "peer":
            if child is not None and dockerrules.l3_ipvlan(self.t, child.name):
                return self.to_l3_child6(s, d, address)
            if child is not None and child.parent in s.nets6:
                return _yes(f"a {child.driver} child is on lan {child.parent} with its own IPv6 address")
            return self.from_peer6(s, d, address, on, probe)
        if s.kind != "ctr":
            raise _Unknown(f"IPv6 from {src}")
        for mine in s.nets6:  # a macvlan/ipvlan child: on its parent's wire, with the lan and the other children
            net = self.t.network(mine)
            if d.kind == "peer" and self._child_net(mine) is not None and dockerrules.l3_ipvlan(self.t, mine):
                return self.from_l3_child6(s, d, s.nets6[mine])
            if self._child_net(mine) is not None and (on == mine or on == net.parent):
                return self.child_on_lan(s, d, net, on, v6=True)
        if d.kind == "peer":
            return self.to_peer6(s, d, address, on)
        if on in s.nets6:
            net = self.t.network(on)
            if d.kind == "node":
                return _yes(f"the host's own IPv6 address on {on}: delivered locally (INPUT)")
            if net.icc:
                rules = (IP6TABLES, True, f"both on dual-stack bridge network {on}")
            else:
                rules = (IP6TABLES, False, f"{on} has icc disabled: ip6tables -i br -o br -j DROP")
            unenforced = "" if net.icc else f"{on} has icc disabled, but "
            free = (NO_IP6TABLES, True, f"{unenforced}the daemon writes no ip6tables rule: bridged between them")
            if not net.internal:
                return [free, rules]
            return [
                free,
                (
                    (*IP6TABLES, *OLD25),
                    False,
                    f"{on} is internal: before Docker 25 its ip6tables `! -d <subnet> -i br -j DROP` also drops the "
                    "neighbour solicitations its members send each other (multicast, bridged through ip6tables)",
                ),
                ((*rules[0], *NEW25), *rules[1:]),
            ]
        gw = dockerrules.gateway_attachment(self.t, self.container(s))
        via = self.t.network(gw.network) if gw is not None else None
        if via is not None and via.dummy and via.subnet6 is not None:
            return _no(
                f"{src}'s IPv6 default route is {via.gateway6} on {via.name}, a network without a parent: nobody "
                "holds it on the dummy link"
            )
        if via is None or via.subnet6 is None or via.driver != Driver.BRIDGE:
            raise _Unknown(f"{src}'s IPv6 default route (its gateway network is not a dual-stack bridge)")
        if d.kind == "node" and d.name == s.node:
            return _yes(f"the host's own IPv6 address, through {via.name}'s gateway: delivered locally (INPUT)")
        there = self.t.network(on) if d.kind == "ctr" else None
        if d.kind == "ctr" and d.node == s.node and there and there.driver == Driver.BRIDGE:
            if via.internal:
                drop = f"{via.name} is internal: ip6tables drops what leaves it"
            elif there.internal:
                drop = f"{on} is internal: ip6tables drops what enters it"
            else:
                drop = f"{d.name} is on another bridge network ({on}): ip6tables isolation drops it"
            return [
                (
                    NO_IP6TABLES,
                    True,
                    f"forwarded by the host to {on}: the daemon writes no ip6tables rules (no --ip6tables), so "
                    "nothing isolates IPv6 between bridge networks, internal ones included",
                ),
                (IP6TABLES, False, drop),
            ]
        raise _Unknown(f"IPv6 from {src} to {dst} on {on}")

    def published6(self, s: _Place, d: _Place, on: str, probe: Probe, address: IPAddress) -> list[Variant] | None:
        """A probe over IPv6 to a port published on node `d` (None: none is). Docker binds a port published on no
        host address on `::` too: docker-proxy relays it to the container's IPv6 address, or its IPv4 one; without
        docker-proxy only an ip6tables DNAT (a daemon with --ip6tables) maps it, to an IPv6 address of the container."""
        found = next(
            (
                (c, p)
                for c in self.ctrs.values()
                if c.node == d.name and not dockerrules.shares_node_ns(self.t, c)
                for p in c.publish
                if (p.host_port, p.proto) == (probe.port, str(probe.kind))
            ),
            None,
        )
        if found is None:
            return None
        c, p = found
        if p.host_ip is not None:
            return _no(f"the port is published on {p.host_ip} only: Docker binds nothing on IPv6 for it")
        gw = dockerrules.gateway_attachment(self.t, c)
        net = self.t.network(gw.network) if gw is not None else None
        if net is None or net.driver != Driver.BRIDGE or net.internal:
            return _no(f"{c.name}'s port is not programmed (no external connectivity): nothing listens there")
        six = net.v6_of(gw.address if gw is not None else None)
        to = f"{c.name}'s {'IPv6' if six else 'IPv4'} address"
        proxy_on, proxy_off = (("userland_proxy", "on"),), (("userland_proxy", "off"),)
        relayed = (proxy_on, True, f"docker-proxy listens on [::]:{p.host_port} and relays it to {to}")
        nothing = (
            f"{c.name} has no IPv6 address: only docker-proxy maps the port over IPv6, and it is off"
            if six is None
            else "no docker-proxy, and the daemon writes no ip6tables DNAT for it"
        )
        if s.kind == "ctr" and s.node == d.name and isinstance(address, IPv6Address):
            return self._published6_from_container(s, c, net, six is not None, address, probe, relayed, nothing)
        if not (s.kind == "node" and s.name == d.name) and not (s.kind == "peer" and on in s.nets6):
            raise _Unknown(f"a published port over IPv6 from {s.name}")
        if six is None:
            return [relayed, (proxy_off, False, nothing)]
        return [
            relayed,
            ((*proxy_off, *NO_IP6TABLES), False, nothing),
            ((*proxy_off, *IP6TABLES), True, f"ip6tables DNAT to {c.name}'s IPv6 address"),
        ]

    def _published6_from_container(
        self,
        s: _Place,
        c: Container,
        net: Network,
        six: bool,
        address: IPv6Address,
        probe: Probe,
        relayed: Variant,
        nothing: str,
    ) -> list[Variant]:
        """From a container of the same node to a host IPv6 address where a port is published: docker-proxy
        relays it (a UDP answer only from the address the host routes back with); without docker-proxy only the
        ip6tables DNAT of a daemon with --ip6tables maps it, and then the IPv4 story holds: hairpin NAT from the
        published container's own bridge, the isolation rules from another before Docker 29."""
        path = next(
            (self.t.network(n) for n in s.nets6 if (sub := self.t.network(n).subnet6) is not None and address in sub),
            None,
        )
        if path is None:
            gw = dockerrules.gateway_attachment(self.t, self.container(s))
            path = self.t.network(gw.network) if gw is not None else None
        if path is None or path.subnet6 is None or path.driver != Driver.BRIDGE:
            raise _Unknown(f"a published port over IPv6 from {s.name} (its IPv6 path is not a dual-stack bridge)")
        proxy_on, proxy_off = (("userland_proxy", "on"),), (("userland_proxy", "off"),)
        mine = s.nets6.get(path.name)
        back = path.v6_of(path.gateway_for(s.nets.get(path.name))) if mine is not None else None
        if probe.kind is ProbeKind.UDP and address != back:
            relayed = (proxy_on, False, f"docker-proxy answers from {path.name}'s gateway, not {address}")
        unmapped = ((*proxy_off, *NO_IP6TABLES), False, nothing)
        if not six:
            return [relayed, (proxy_off, False, nothing)]
        if path.internal:
            dropped = f"ip6tables DNAT sends it from internal {path.name} to {net.name}: the isolation rules drop it"
            return [((*proxy_on, *NO_IP6TABLES), *relayed[1:]), unmapped, (IP6TABLES, False, dropped)]
        free = ((*proxy_on, *NO_IP6TABLES), *relayed[1:])
        if path.name == net.name:
            hairpin = f"hairpin NAT (ip6tables): DNATed back into {net.name}"
            return [free, unmapped, ((*proxy_on, *IP6TABLES), *relayed[1:]), ((*proxy_off, *IP6TABLES), True, hairpin)]
        isolated = (
            f"ip6tables DNAT sends it from {path.name} to another bridge network ({net.name}): the isolation rules "
            "drop it"
        )
        v29 = "Docker 29 accepts forwarded traffic to a published port from any bridge"
        if not path.masquerade:
            return [free, unmapped, ((*IP6TABLES, *OLD29), False, isolated), ((*IP6TABLES, *NEW29), True, v29)]
        return [
            free,
            unmapped,
            ((*IP6TABLES, *OLD29, *proxy_on), *relayed[1:]),
            ((*IP6TABLES, *OLD29, *proxy_off), False, isolated),
            ((*IP6TABLES, *NEW29), True, v29),
        ]

    def to_l3_child6(self, s: _Place, d: _Place, address: IPv6Address) -> list[Variant]:
        """IPv6 from a peer to an ipvlan L3 child: its subnet is not the lan's, so only a route via its host gets
        there (the host advertises none)."""
        via = self.has_route6(s, address)
        if via is None:
            return _no(
                f"{s.name} has no IPv6 route to {address}: an ipvlan L3 subnet is not on the lan and its host "
                "advertises no route"
            )
        node = self.place(d.node or "")
        if via not in node.nets6.values():
            raise _Unknown(f"{s.name} routes {address} via {via}, not {d.name}'s host")
        return _yes(f"routed via {d.node} ({via}); the ipvlan L3 parent delivers it to its child {d.name}")

    def from_l3_child6(self, s: _Place, d: _Place, mine: IPv6Address) -> list[Variant]:
        """IPv6 from an ipvlan L3 child to a lan peer: routed out of its parent by the host's namespace, without
        NAT: the peer answers only with a route back via the host."""
        if self.has_route6(d, mine) is not None:
            return _yes(f"routed out of the parent onto the lan; {d.name} routes the reply to {mine} via the host")
        return _no(f"ipvlan L3 gives no NAT and no NDP proxy: {d.name} has no IPv6 route back to {mine}")

    def _child_net(self, name: str) -> Network | None:
        """The dual-stack macvlan/ipvlan network of that name, None for anything else (a bridge, a lan)."""
        net = next((n for n in self.t.networks if n.name == name), None)
        if net is None or net.driver not in (Driver.MACVLAN, Driver.IPVLAN) or not net.ipv6:
            return None
        return net

    def from_peer6(self, s: _Place, d: _Place, address: IPv6Address, on: str, probe: Probe) -> list[Variant]:
        """IPv6 from a peer: on its dual-stack lan, or through a route of a stage via a Docker host."""
        if on in s.nets6:
            return _yes(f"on lan {on}, over IPv6")
        via = self.has_route6(s, address)
        if via is None:
            return _no(f"{s.name} has no IPv6 route to {address}")
        node = next((p for p in (self.place(n.name) for n in self.t.nodes) if via in p.nets6.values()), None)
        if node is None:
            raise _Unknown(f"{s.name} routes {address} via {via}, not a Docker host")
        if d.kind == "node" and d.name == node.name:
            return _yes(f"routed to the host's own IPv6 address via {via}: delivered locally (INPUT)")
        net = self.t.network(on) if d.kind == "ctr" and d.node == node.name else None
        if net is None or net.driver != Driver.BRIDGE:
            raise _Unknown(f"IPv6 routed from {s.name} to {d.name} on {on}")
        if net.internal:
            return [
                (
                    NO_IP6TABLES,
                    True,
                    f"routed to the container over IPv6: {on} is internal, but without ip6tables nothing enforces it",
                ),
                (IP6TABLES, False, f"{on} is internal: ip6tables drops what enters it"),
            ]
        closed = (
            NO_IP6TABLES,
            True,
            "routed to the container over IPv6: the daemon writes no ip6tables rule and leaves the IPv6 FORWARD "
            "policy alone, so any port of it is open to the lan",
        )
        if probe.kind in (ProbeKind.TCP, ProbeKind.UDP) and self._publishes(self.container(d), probe):
            return [
                closed,
                (
                    (*IP6TABLES, *OLD),
                    True,
                    "routed to a published container port: ip6tables' DOCKER chain accepts it (Docker 20.10)",
                ),
                (
                    (*IP6TABLES, *NEW),
                    False,
                    "Docker 28 drops what is routed to a container from outside its bridge (raw PREROUTING), "
                    "published ports too",
                ),
            ]
        return [
            closed,
            (
                IP6TABLES,
                False,
                f"what is routed to an unpublished container port from outside {on} is dropped (ip6tables: 20.10's "
                "IPv6 FORWARD policy DROP, 28's DOCKER ! -i br -o br -j DROP)",
            ),
        ]

    def to_peer6(self, s: _Place, d: _Place, address: IPv6Address, on: str) -> list[Variant]:
        """IPv6 from a container to a peer on a dual-stack lan, through its node: masqueraded (NAT66) where Docker
        writes ip6tables rules, else with the container's own address, which the peer must route back."""
        gw = dockerrules.gateway_attachment(self.t, self.container(s))
        net = self.t.network(gw.network) if gw is not None else None
        if net is None or net.driver != Driver.BRIDGE or net.name not in s.nets6:
            raise _Unknown(f"{s.name}'s IPv6 default route (its gateway network is not a dual-stack bridge)")
        node = self.place(s.node or "")
        if on not in node.nets6:
            raise _Unknown(f"{address} is not on a dual-stack lan of {s.node}")
        mine = s.nets6[net.name]
        routed = self.has_route6(d, mine) is not None
        back = (
            (True, f"forwarded to lan {on} without NAT66; {d.name} routes the reply to {mine} via the host")
            if routed
            else (
                False,
                f"forwarded to lan {on} with {s.name}'s own address {mine} (no NAT66): {d.name} has no "
                "route back to it",
            )
        )
        if net.internal:
            return [
                (NO_IP6TABLES, *back),
                (IP6TABLES, False, f"{net.name} is internal: ip6tables drops what leaves it"),
            ]
        if not net.masquerade:
            return [((), *back)]
        return [(NO_IP6TABLES, *back), (IP6TABLES, True, f"forwarded to lan {on}, masqueraded as the host (NAT66)")]

    def dns(self, src: str, probe: Probe) -> list[Variant]:
        s = self.place(src)
        if s.kind == "node":
            return _no("asks the machine's resolver (host networking has no embedded DNS), which knows no container")
        if s.kind == "none":
            return _no(f"{src} has only loopback: no resolver to ask")
        c = self.container(s)
        if not dockerrules.uses_embedded_dns(self.t, c):
            return _no(
                "the default bridge has no embedded DNS: the container asks the host's resolver, which knows no "
                "container"
            )
        zone = dockerrules.embedded_zone(self.t, c, self.ctrs.values())
        if probe.v6:
            if f"{probe.name}{dockerrules.AAAA_KEY}" in zone:
                return _yes(f"Docker's embedded DNS answers {probe.name!r} AAAA: its IPv6 address on a network shared")
            if probe.name in zone:
                return _no(f"{probe.name!r} has no IPv6 address on the networks {src} shares with it: no AAAA record")
        if probe.name in zone:
            return _yes(f"Docker's embedded DNS answers {probe.name!r}: on a user-defined network {src} shares")
        return _no(f"Docker's embedded DNS knows no {probe.name!r} on the user-defined networks {src} is on")

    def published(self, s: _Place, d: _Place, address: IPv4Address, on: str, probe: Probe) -> list[Variant] | None:
        """A probe to a port published on node `d`'s `address`; None when none is."""
        elsewhere = None
        for c in self.ctrs.values():
            if c.node != d.name or not dockerrules.has_own_ns(self.t, c):
                continue
            for p in c.publish:
                if (p.host_port, p.proto) != (probe.port, str(probe.kind)):
                    continue
                if p.host_ip is not None and p.host_ip != address:
                    elsewhere = p.host_ip
                    continue
                return self._published_to(s, d, c, on, address, probe)
        if elsewhere is not None:
            return _no(f"the port is published on {elsewhere} only: nothing listens at {address}")
        return None

    def _published_to(
        self, s: _Place, d: _Place, c: Container, on: str, address: IPv4Address, probe: Probe
    ) -> list[Variant]:
        gw = dockerrules.gateway_attachment(self.t, c)
        net = self.t.network(gw.network) if gw is not None else None
        if net is None or net.driver != Driver.BRIDGE or net.internal:
            return _no(
                f"{c.name}'s port is not programmed (no external connectivity on an internal or non-bridge network): "
                "nothing listens there"
            )
        if s.kind == "node":
            if s.name != d.name:
                raise _Unknown("a published port of another node")
            return _yes(f"published port: DNAT in OUTPUT to {c.name}")
        if s.kind == "peer":
            ((lan, _net),) = s.nets.items()
            if address in self.t.lan(lan).subnet or self.has_route(s, address) is not None:
                return _yes(f"published port: DNAT to {c.name}, accepted by the DOCKER chain")
            return _no(f"{s.name} has no route to {address}")
        if s.node != d.name:
            raise _Unknown("a published port of another node")
        path = self._path_network(s, address)
        if path is None or path.driver != Driver.BRIDGE:
            return self.from_container(s, d, address, on, Probe(ProbeKind.ICMP))
        if path.internal:
            return _no(f"DNAT sends it from internal {path.name} to {net.name}: the isolation rules drop it")
        # docker-proxy answers a datagram from the address the host routes back with: asked at another address,
        # the container's connected socket never takes the reply
        proxied = (
            _no(f"docker-proxy answers from {path.name}'s gateway, not {address}: the reply is not taken")
            if probe.kind is ProbeKind.UDP and address != path.gateway_for(s.nets[path.name])
            else _yes("the host's own address: docker-proxy, listening there, relays it")
        )
        proxy_on, proxy_off = (("userland_proxy", "on"),), (("userland_proxy", "off"),)
        if path.name == net.name:
            hairpin = f"hairpin NAT: DNATed back into {net.name}"
            return [(proxy_on, *proxied[0][1:]), (proxy_off, True, hairpin)]
        isolated = f"DNAT sends it from {path.name} to another bridge network ({net.name}): the isolation rules drop it"
        v29 = "Docker 29 accepts forwarded traffic to a published port from any bridge"
        if not path.masquerade:  # no `-A DOCKER -i <bridge> -j RETURN` without masquerade: DNATed
            return [(OLD29, False, isolated), (NEW29, True, v29)]
        return [
            ((*OLD29, *proxy_on), *proxied[0][1:]),
            ((*OLD29, *proxy_off), False, isolated),
            (NEW29, True, v29),
        ]

    def _path_network(self, s: _Place, address: IPv4Address) -> Network | None:
        """The network a container's packet to `address` leaves by: the one it is on-link on, else its gateway's."""
        for net_name, mine in s.nets.items():
            net = self.t.network(net_name)
            if _on_link(net, mine, address):
                return net
        gw = dockerrules.gateway_attachment(self.t, self.container(s))
        return self.t.network(gw.network) if gw is not None else None

    # -- from a container ---------------------------------------------------
    def from_container(self, s: _Place, d: _Place, address: IPv4Address, on: str, probe: Probe) -> list[Variant]:
        for net_name, mine in s.nets.items():
            net = self.t.network(net_name)
            if (
                _on_link(net, mine, address)
                or (dockerrules.l3_ipvlan(self.t, net_name) and on == net_name)
                or (not net.subnets and on == net_name)  # an external network: its subnet is Docker's
            ):
                return self.on_link(s, d, net, on)
        outside = self.off_overlay(on)
        if outside is not None:
            return outside
        gw = dockerrules.gateway_attachment(self.t, self.container(s))
        if gw is None:
            return _no(f"{s.name} has no default route (none of its networks gives one) and {address} is off-link")
        net = self.t.network(gw.network)
        if net.driver == Driver.BRIDGE:
            return self.through_node(s, net, d, address, on)
        if dockerrules.l3_ipvlan(self.t, net.name):
            return self.through_master(s, d, address, on)
        gateway = net.gateway_for(s.nets.get(net.name))
        holder = self.owner(gateway) if gateway is not None else None
        if holder is None:
            return _no(f"{s.name}'s default route is {gateway} on lan {net.parent}, an address nobody there holds")
        if self.is_router(holder[0]):
            return self.through_router(s, d, address, holder[0], s.nets[net.name])
        if holder[0].kind == "node" and holder[0].name == s.node:
            return _no(f"{s.name}'s gateway {gateway} is its own parent's address, which the kernel filters")
        raise _Unknown(
            f"{s.name}'s default route goes through {holder[0].name} ({gateway}), whose routing netlab does not model"
        )

    def on_link(self, s: _Place, d: _Place, net: Network, on: str) -> list[Variant]:
        if net.driver == Driver.BRIDGE:
            if d.kind == "node":
                return _yes(f"the host's own address on {net.name}: delivered locally (INPUT)")
            if d.kind == "ctr" and on == net.name:
                if net.icc:
                    return _yes(f"both on bridge network {net.name}")
                return _no(f"{net.name} has icc disabled: -i br -o br -j DROP")
            raise _Unknown(f"{d.name} on {on} behind {net.name}")
        if net.driver in (Driver.MACVLAN, Driver.IPVLAN):
            return self.child_on_lan(s, d, net, on)
        if net.driver == Driver.OVERLAY and d.kind == "ctr" and on == net.name:
            where = "on one node, through its br0" if d.node == s.node else "across nodes, in VXLAN"
            return _yes(f"both on overlay network {net.name}: {where}")
        raise _Unknown(f"the {net.driver} driver")

    def child_on_lan(self, s: _Place, d: _Place, net: Network, on: str, v6: bool = False) -> list[Variant]:
        """From a macvlan/ipvlan child of `net` to something on the same subnet (`v6`: over IPv6, where a shim,
        which carries IPv4 only, does not help)."""
        lan = net.parent
        if d.kind == "ctr":
            if on != net.name:
                raise _Unknown("children of two macvlan/ipvlan networks on one parent")
            if d.node != s.node and net.dummy:
                return _no(f"{net.name} has no parent: each node's dummy link is its own, joined to nothing")
            if d.node != s.node:
                return _yes(f"children on lan {lan}, through the wire")
            if net.driver == Driver.IPVLAN:
                return _yes("ipvlan children of one parent are switched inside the driver")
            mode = net.option("macvlan_mode", "bridge")
            if mode == "bridge":
                return _yes("macvlan bridge mode: children of one parent reach each other")
            if mode == "private":
                return _no("macvlan private mode: children of one parent cannot talk to each other")
            if mode == "vepa":
                return _no("macvlan vepa mode: frames go to the switch, which does not send them back (no hairpin)")
            raise _Unknown(f"macvlan {mode} mode")
        if d.kind == "node":
            if d.name != s.node and not net.dummy:
                return _yes(f"another host on lan {lan}")
            if self._shim_reaches(d.name, net) and not v6:
                return _yes(f"through the host's macvlan shim on {lan}")
            shim = " (the host's shim has no IPv6 address)" if self._shim_reaches(d.name, net) else ""
            return _no(
                f"a {net.driver} child cannot talk to its own parent ({lan or net.dummy}): the kernel filters it{shim}"
            )
        if d.kind == "peer":
            if dockerrules.l3_ipvlan(self.t, net.name):
                raise _Unknown("an ipvlan L3 child and a peer on its subnet")
            return _yes(f"on lan {lan}, with its own address")
        raise _Unknown(f"{d.name}")

    def _shim_reaches(self, node: str, net: Network) -> bool:
        return (
            net.driver == Driver.MACVLAN
            and net.option("macvlan_mode", "bridge") == "bridge"
            and any(sh.node == node and sh.lan == net.parent for sh in self.shims)
        )

    def through_node(self, s: _Place, net: Network, d: _Place, address: IPv4Address, on: str) -> list[Variant]:
        """From a container through its bridge's gateway, its node."""
        node = s.node
        if d.kind == "node" and d.name == node:
            return _yes(f"the host's own address, through {net.name}'s gateway: delivered locally (INPUT)")
        if net.internal:
            return _no(f"{net.name} is internal: DOCKER-ISOLATION drops what leaves it")
        if d.kind == "ctr" and d.node == node and self.t.network(on).driver == Driver.BRIDGE:
            return _no(f"{d.name} is on another bridge network ({on}): DOCKER-ISOLATION drops it")
        lan = self.lan_of(address)
        if lan is not None and self.t.lan(lan).trunk is not None:
            return _no(self._no_vlan_address(lan))
        if lan is None or self.t.uplink(node or "", lan) is None:
            raise _Unknown(f"{address} is not on a lan of {node}")
        if d.kind == "ctr" and d.node == node:
            return _no(f"{d.name} would answer its own parent's address ({lan}), which the kernel filters")
        if net.masquerade:
            return _yes(f"forwarded to lan {lan}, masqueraded as the host")
        mine = s.nets[net.name]
        if self.has_route(d, mine) is not None:
            return _yes(f"forwarded to lan {lan} without NAT; {d.name} routes the reply back via the host")
        return _no(f"{net.name} has no NAT: {d.name} has no route back to {mine}")

    def through_master(self, s: _Place, d: _Place, address: IPv4Address, on: str) -> list[Variant]:
        """From an ipvlan L3 child: routed by its parent's namespace, the node's."""
        if d.kind == "node" and d.name == s.node:
            return _no("an ipvlan child cannot talk to its own parent: the kernel filters it")
        lan = self.lan_of(address)
        if lan is None or d.kind != "peer":
            raise _Unknown(f"{d.name} routed from an ipvlan L3 child")
        mine = next(iter(s.nets.values()))
        if self.has_route(d, mine) is not None:
            return _yes(f"routed out of the parent onto lan {lan}; {d.name} routes the reply via the host")
        return _no(f"ipvlan L3 gives no NAT and no ARP: {d.name} has no route back to {mine}")

    # -- from a node --------------------------------------------------------
    def from_node(self, s: _Place, d: _Place, address: IPv4Address, on: str) -> list[Variant]:
        if d.kind == "ctr" and d.node == s.name:
            net = self.t.network(on)
            if net.driver == Driver.BRIDGE:
                return _yes(f"the host reaches its bridge {on} directly (any port, internal or not)")
            if net.driver in (Driver.MACVLAN, Driver.IPVLAN):
                if self._shim_reaches(s.name, net):
                    return _yes(f"through the host's macvlan shim on {net.parent}")
                return _no(f"the host cannot talk to its own {net.driver} children through their parent")
            raise _Unknown(f"the {net.driver} driver")
        lan = self.lan_of(address)
        if lan is not None and self.t.lan(lan).trunk is not None:
            return _no(self._no_vlan_address(lan))
        if lan is not None and self.t.uplink(s.name, lan) is not None and d.kind in ("peer", "node", "ctr"):
            return _yes(f"on lan {lan}")
        raise _Unknown(f"{address} is not on a network of {s.name}")

    def _no_vlan_address(self, lan: str) -> str:
        v = self.t.lan(lan)
        return (
            f"{lan} is VLAN {v.vid} of {v.trunk}: the host has no address on it (the 802.1Q sub-interface Docker "
            "makes for a VLAN parent carries none) and no router joins it to the host's networks"
        )

    # -- from a peer --------------------------------------------------------
    def from_peer(self, s: _Place, d: _Place, address: IPv4Address, on: str, probe: Probe) -> list[Variant]:
        lan = next((x for x in s.nets if address in self.t.lan(x).subnet), None)
        if lan is not None:
            if d.kind == "ctr":
                net = self.t.network(on)
                if dockerrules.l3_ipvlan(self.t, on):
                    raise _Unknown("a peer and an ipvlan L3 child on one subnet")
                if net.driver in (Driver.MACVLAN, Driver.IPVLAN):
                    return _yes(f"a {net.driver} child is on lan {lan} with its own address")
                raise _Unknown(f"{d.name} on lan {lan}")
            return _yes(f"on lan {lan}")
        via = self.has_route(s, address)
        if via is None:
            return _no(f"{s.name} has no route to {address} (not on lan {' or '.join(s.nets)})")
        router = self.owner(via)
        if router is not None and self.is_router(router[0]):
            mine = next(a for x, a in s.nets.items() if via in self.t.lan(x).subnet)
            return self.through_router(s, d, address, router[0], mine)
        if router is None or router[0].kind != "node":
            raise _Unknown(f"{s.name} routes {address} via {via}, not a Docker host")
        node = router[0].name
        if d.kind == "node" and d.name == node:
            return _yes(f"routed to the host's own address via {via}: delivered locally (INPUT)")
        if d.kind != "ctr" or d.node != node:
            raise _Unknown(f"{d.name} behind {node}")
        net = self.t.network(on)
        if dockerrules.l3_ipvlan(self.t, on):
            return _yes(f"routed via the host; the ipvlan L3 parent delivers it to its child {d.name}")
        if net.driver != Driver.BRIDGE:
            raise _Unknown(f"routed to a {net.driver} child")
        if net.internal:
            return _no(f"{on} is internal: DOCKER-ISOLATION drops what enters it from outside")
        new = (NEW, False, "Docker 28 drops what is routed to a container from outside its bridge (raw PREROUTING)")
        if self._publishes(self.container(d), probe):
            return [(OLD, True, "routed to a published container port: the DOCKER chain accepts it"), new]
        return [
            ((*OLD, ("forward_policy", "DROP")), False, "routed to an unpublished port: the FORWARD policy DROP"),
            ((*OLD, ("forward_policy", "ACCEPT")), True, "routed to an unpublished port: FORWARD policy ACCEPT"),
            new,
        ]

    # -- what listens ----------------------------------------------------------
    def nobody_listens(self, dst: str, d: _Place, probe: Probe) -> str | None:
        """Why nothing answers a tcp/udp probe to `dst` where applications declare their sockets
        (Container.listen), or None: the first container of a namespace to declare a port holds it; a container
        declaring sockets answers on those only; a host-network container's published port is discarded."""
        port = probe.port
        c: Container | None
        landing = self.landing(d, probe) if d.kind == "node" else None
        if landing is not None:  # a published port: the container it is published to answers, on its own port
            c, port = landing
            members = [c]
        else:
            members = [m for m in self.ctrs.values() if self._same_ns(self.place(m.name), d)]
            c = self.ctrs.get(dst)
        if any(Probe(probe.kind, port) in m.listen for m in members):
            return None
        if (
            c is not None
            and landing is None
            and dockerrules.shares_node_ns(self.t, c)
            and any((p.host_port, p.proto) == (port, str(probe.kind)) for p in c.publish)
        ):
            return f"Docker discarded {c.name}'s published port {port} (host network mode) and nothing listens on it"
        if c is not None and c.listen:
            own = ", ".join(str(p) for p in c.listen)
            return f"nothing listens on {probe.kind}:{port}: {c.name}'s application listens on {own} only"
        return None

    @staticmethod
    def _same_ns(a: _Place, b: _Place) -> bool:
        return (a.kind, a.name) == (b.kind, b.name)

    def landing(self, d: _Place, probe: Probe) -> tuple[Container, int] | None:
        """The container a node's port is published to (not by a host-network container: Docker discards that)."""
        for c in self.ctrs.values():
            if c.node == d.name and not dockerrules.shares_node_ns(self.t, c):
                for p in c.publish:
                    if (p.host_port, p.proto) == (probe.port, str(probe.kind)):
                        return c, p.container_port
        return None

    # -- through a router of the scenario's ------------------------------------
    def is_router(self, place: _Place) -> bool:
        return place.kind == "peer" and len(place.nets) > 1

    def through_router(self, s: _Place, d: _Place, address: IPv4Address, r: _Place, mine: IPv4Address) -> list[Variant]:
        """From `s` (at its address `mine`) through router `r` (its gateway or its route) to `address` of `d`."""
        if d.name == r.name:
            return _yes(f"{r.name}'s own address: delivered locally")
        if r.name not in self.forwarding:
            return _no(f"{r.name} does not forward: IP forwarding is off there (a stage turns it on)")
        leg = next((x for x in r.nets if address in self.t.lan(x).subnet), None)
        if leg is None:
            return _no(f"{r.name} has no leg on {address}'s subnet, and no route to it")
        if d.kind == "ctr":
            gw = dockerrules.gateway_attachment(self.t, self.container(d))
            net = self.t.network(gw.network) if gw is not None else None
            gateway = net.gateway_for(d.nets.get(net.name)) if net is not None else None
            back = gateway is not None and gateway in r.nets.values()
        elif d.kind == "peer":
            via = self.has_route(d, mine)
            back = via is not None and via in r.nets.values()
        else:
            raise _Unknown(f"{d.name} behind router {r.name}")
        if not back:
            return _no(f"routed by {r.name} onto {leg}, but {d.name} has no route back to {mine} through it")
        return _yes(f"routed by {r.name} onto {leg}; {d.name}'s route back to {mine} is {r.name} too")

    def _publishes(self, c: Container, probe: Probe) -> bool:
        return any((p.container_port, p.proto) == (probe.port, str(probe.kind)) for p in c.publish)
