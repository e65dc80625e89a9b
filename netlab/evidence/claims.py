"""The measured properties of a run that the lecture's driver cards talk about (same-network reach, host to
container, own MAC on the lan, iptables, NAT...), each decided from the observations and the evidence with
a short reference to what showed it; and the lecture's claims a scenario names (`s.claim(id, holds)`),
decided on them. `netlab compare` (netlab/compare.py) lays the same properties out as the driver table."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from netlab.model.deployed import Endpoint
from netlab.model.results import Observation, Outcome
from netlab.model.topology import EndpointKind, Forward, Topology


class Result(Protocol):
    """What the properties read of a run (netlab.result.Result meets it; the result layer is above this one)."""

    @property
    def topology(self) -> Topology: ...

    @property
    def endpoints(self) -> dict[str, Endpoint]: ...

    @property
    def observations(self) -> list[Observation]: ...

    @property
    def evidence(self) -> dict[str, Any]: ...

    @property
    def environment(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Cell:
    value: bool | None  # None: the scenario cannot tell
    evidence: str

    @property
    def mark(self) -> str:
        return "–" if self.value is None else ("✓" if self.value else "✗")


@dataclass(frozen=True, slots=True)
class Property:
    id: str
    question: str
    measure: Callable[[Result, str], Cell]


def _first(r: Result, probe: str = "icmp") -> list[Observation]:
    stage = r.topology.stages[0].name
    return [o for o in r.observations if o.stage == stage and str(o.probe) == probe]


def _containers(t: Topology, driver: str) -> dict[str, set[str]]:
    """Containers attached to a network of `driver` (host: the host-network containers), with those networks."""
    out: dict[str, set[str]] = {}
    for c in t.containers:
        for a in c.attachments:
            if str(t.network(a.network).driver) == driver:
                out.setdefault(c.name, set()).add(a.network)
    return out


def _pairs(r: Result, keep: Callable[[Observation], bool], probe: str = "icmp") -> tuple[int, int, str]:
    """How many of the first stage's icmp (icmp6) cells `keep` selects were reachable; one example."""
    cells = [o for o in _first(r, probe) if keep(o)]
    ok = [o for o in cells if o.outcome is Outcome.REACHABLE]
    example = ok[0] if ok else (cells[0] if cells else None)
    ref = f"{example.src} -> {example.dst} {example.outcome}" if example else ""
    return len(ok), len(cells), ref


def _reach(r: Result, keep: Callable[[Observation], bool], probe: str = "icmp") -> Cell:
    ok, total, ref = _pairs(r, keep, probe)
    if total == 0:
        return Cell(None, "no such pair in the scenario")
    return Cell(ok == total, f"{ok}/{total} reachable ({ref})")


def _kinds(r: Result) -> dict[str, EndpointKind]:
    return {name: ep.kind for name, ep in r.endpoints.items()}


def same_network(r: Result, driver: str) -> Cell:
    members = _containers(r.topology, driver)
    if driver == "host":
        return Cell(None, "host-network containers share the node's namespace")
    return _reach(r, lambda o: o.src in members and o.dst in members and bool(members[o.src] & members[o.dst]))


def cross_network(r: Result, driver: str) -> Cell:
    members = _containers(r.topology, driver)
    t = r.topology
    nodes = {c.name: c.node for c in t.containers}
    return _reach(
        r,
        lambda o: (
            o.src in members
            and o.dst in members
            and not members[o.src] & members[o.dst]
            and nodes[o.src] == nodes[o.dst]
        ),
    )


def host_to_container(r: Result, driver: str) -> Cell:
    members = _containers(r.topology, driver)
    nodes = {c.name: c.node for c in r.topology.containers}
    if driver == "host":
        return Cell(True, "the container is in the node's own namespace")
    return _reach(r, lambda o: o.dst in members and o.src == nodes[o.dst])


def peer_to_container(r: Result, driver: str) -> Cell:
    members, kinds = _containers(r.topology, driver), _kinds(r)
    return _reach(r, lambda o: o.dst in members and kinds.get(o.src) is EndpointKind.PEER)


def container_to_lan(r: Result, driver: str) -> Cell:
    members, kinds = _containers(r.topology, driver), _kinds(r)
    return _reach(r, lambda o: o.src in members and kinds.get(o.dst) is EndpointKind.PEER)


def _lan_facts(r: Result) -> list[dict[str, Any]]:
    stage = r.topology.stages[0].name
    return [c.get("facts", {}) for c in r.evidence.get("captures", []) if c["stage"] == stage and c["role"] == "lan"]


def _addresses(r: Result, names: Iterable[str]) -> dict[str, str]:
    return {str(a.address): n for n in names for a in r.endpoints[n].addresses if n in r.endpoints}


def own_mac(r: Result, driver: str) -> Cell:
    members = _containers(r.topology, driver)
    addrs = _addresses(r, [m for m in members if r.topology.container(m).node == r.topology.nodes[0].name])
    nodes = {str(a.address) for n in r.topology.nodes for a in r.endpoints[n.name].addresses if n.name in r.endpoints}
    node_macs = {m for f in _lan_facts(r) for a, m in f.get("macs", {}).items() if a.split()[0] in nodes}
    seen = {a.split()[0]: m for f in _lan_facts(r) for a, m in f.get("macs", {}).items() if a.split()[0] in addrs}
    if not seen:
        return Cell(False if addrs else None, "no container address answered ARP on the lan")
    own = {a: m for a, m in seen.items() if m not in node_macs}
    example = next(iter(seen.items()))
    return Cell(
        len(own) == len(seen),
        f"{len(own)}/{len(seen)} with a MAC of their own on the lan ({addrs[example[0]]} {example[1]})",
    )


def iptables(r: Result, driver: str) -> Cell:
    """Rules the first stage added that belong to this driver's networks (their subnets or bridges), or for
    the host driver to its containers' published ports."""
    t = r.topology
    stage = t.stages[0].name
    added = [
        (name, rule)
        for node in r.evidence.get("firewall", {}).get(stage, {}).values()
        for name, table in node.get("changes", {}).items()
        for chain_rules in table.get("added", {}).values()
        for rule in chain_rules
    ]
    rules = [rule for name, rule in added if not name.startswith("nft:")]
    native = [rule for name, rule in added if name.startswith("nft:")]
    if not r.evidence.get("firewall", {}).get(stage):
        return Cell(None, "no firewall evidence (remote engine)")
    marks: set[str] = set()
    for net in t.networks:
        if str(net.driver) == driver or (driver == "overlay" and net.name == "docker_gwbridge"):
            marks |= {str(s) for s in net.subnets}
            if net.bridge_name:
                marks.add(net.bridge_name)
    if driver == "overlay":
        marks.add("docker_gwbridge")
    if driver == "host":
        ports = {p.host_port for c in t.containers for p in c.publish if c.name in _containers(t, "host")}
        marks |= {f"--dport {p} " for p in ports}
    bridges = {b for rule in rules for b in re.findall(r"br-[0-9a-f]{12}", rule) if any(m in rule for m in marks)}
    mine = [rule for rule in rules if any(m in f"{rule} " for m in marks | bridges)]
    if not mine:
        nft = [rule for rule in native if any(m in f"{rule} " for m in marks)]
        if nft:  # Docker 29 with --firewall-backend=nftables: the claim does not apply as worded
            return Cell(None, f"no iptables rule: Docker wrote {len(nft)} nftables rules instead, e.g. {nft[0]}")
        return Cell(False, "no rule added for it")
    return Cell(True, f"{len(mine)} rules added, e.g. {mine[0]}")


def nat(r: Result, driver: str) -> Cell:
    members = _containers(r.topology, driver)
    container_addrs = _addresses(r, members)
    sources = [a.split()[0] for f in _lan_facts(r) for a in f.get("sources", {}) if ":" not in a.split()[0]]
    if not sources:
        return Cell(None, "no container traffic reached the lan's peers")
    own = [a for a in sources if a in container_addrs]
    if driver == "host":
        return Cell(False, "the container sends with the node's own address (no translation: it is the node)")
    if own:
        return Cell(False, f"the peer saw {own[0]} ({container_addrs[own[0]]}) itself")
    return Cell(True, f"the peer saw only {', '.join(sorted(set(sources)))}")


def _dual_stack(r: Result, driver: str) -> dict[str, set[str]]:
    """The driver's containers on its dual-stack networks, with those networks."""
    t = r.topology
    six = {c: {n for n in nets if t.network(n).ipv6} for c, nets in _containers(t, driver).items()}
    return {c: nets for c, nets in six.items() if nets}


NO_IPV6 = "the scenario has no IPv6 network of this driver"


def ipv6_same_network(r: Result, driver: str) -> Cell:
    members = _dual_stack(r, driver)
    if not members:
        return Cell(None, NO_IPV6)
    return _reach(r, lambda o: o.src in members and o.dst in members and bool(members[o.src] & members[o.dst]), "icmp6")


def ipv6_cross_network(r: Result, driver: str) -> Cell:
    members = _dual_stack(r, driver)
    if not members:
        return Cell(None, NO_IPV6)
    nodes = {c.name: c.node for c in r.topology.containers}
    return _reach(
        r,
        lambda o: (
            o.src in members
            and o.dst in members
            and not members[o.src] & members[o.dst]
            and nodes[o.src] == nodes[o.dst]
        ),
        "icmp6",
    )


def ipv6_container_to_lan(r: Result, driver: str) -> Cell:
    members, kinds = _dual_stack(r, driver), _kinds(r)
    if not members:
        return Cell(None, NO_IPV6)
    return _reach(r, lambda o: o.src in members and kinds.get(o.dst) is EndpointKind.PEER, "icmp6")


def nat66(r: Result, driver: str) -> Cell:
    """The IPv6 sources a lan's peers saw from the driver's dual-stack containers: the node's (NAT66) or theirs."""
    members = _dual_stack(r, driver)
    if not members:
        return Cell(None, NO_IPV6)
    own6 = {str(a.address6): name for name in members for a in r.endpoints[name].addresses if a.address6 is not None}
    sources = [a.split()[0] for f in _lan_facts(r) for a in f.get("sources", {}) if ":" in a.split()[0]]
    if not sources:
        return Cell(None, "no IPv6 traffic reached the lan's peers")
    own = [a for a in sources if a in own6]
    if own:
        return Cell(False, f"the peer saw {own[0]} ({own6[own[0]]}) itself")
    return Cell(True, f"the peer saw only {', '.join(sorted(set(sources)))}")


def broadcast_domain(r: Result, driver: str) -> Cell:
    members = _containers(r.topology, driver)
    addrs = _addresses(r, members)
    asked = [q for f in _lan_facts(r) for q in f.get("arp", {})]
    theirs = [q for q in asked if any(f" {a}" in f" {q.split(' tell ')[0]}" or q.endswith(f" {a}") for a in addrs)]
    if theirs:
        return Cell(True, f"their ARP on the lan: {theirs[0]}")
    return Cell(False, "no ARP for or from them on the lan")


def spans_hosts(r: Result, driver: str) -> Cell:
    members = _containers(r.topology, driver)
    nodes = {c.name: c.node for c in r.topology.containers}
    if len({nodes[m] for m in members}) < 2:
        return Cell(None, "the scenario has its containers on one node")
    return _reach(
        r,
        lambda o: (
            o.src in members
            and o.dst in members
            and bool(members[o.src] & members[o.dst])
            and nodes[o.src] != nodes[o.dst]
        ),
    )


def vlan_trunk(r: Result, driver: str) -> Cell:
    """Several VLANs on one wire, each sender on one VLAN only, and the driver's containers among them."""
    vids: dict[str, set[str]] = {}
    for facts in _lan_facts(r):
        for vid, senders in facts.get("vlans", {}).items():
            vids.setdefault(vid, set()).update(str(x) for x in senders)
    if not vids:
        return Cell(None, "no 802.1Q tag on the lans (the scenario has no trunk)")
    members = _addresses(r, _containers(r.topology, driver))  # address -> container
    on: dict[str, set[str]] = {}  # sender address -> the VLANs its frames carried
    for vid, senders in vids.items():
        for sender in senders:
            on.setdefault(sender.split(" ")[0], set()).add(vid)
    twice = sorted(a for a, v in on.items() if len(v) > 1)
    if len(vids) < 2 or twice or not set(members) & set(on):
        return Cell(False, f"VLANs seen: {', '.join(sorted(vids))}; senders on two VLANs: {', '.join(twice) or 'none'}")
    shown = "; ".join(f"{vid}: {', '.join(sorted(senders))}" for vid, senders in sorted(vids.items()))
    return Cell(True, f"one wire, tagged per VLAN: {shown}")


def port_clash(r: Result, driver: str) -> Cell:
    """Two containers of the driver wanting one port (Container.listen): in one namespace the second cannot bind."""
    members = _containers(r.topology, driver)
    clashes = {k: v for k, v in (r.environment.get("port_clashes") or {}).items() if k.split(" ")[0] in members}
    wanted: dict[tuple[str, str], list[str]] = {}
    for c in r.topology.containers:
        if c.name in members:
            for p in c.listen:
                wanted.setdefault((c.node, str(p)), []).append(c.name)
    if not any(len(names) > 1 for names in wanted.values()):
        return Cell(None, "no two of its containers listen on one port")
    if clashes:
        return Cell(True, "; ".join(f"{k}: {v}" for k, v in sorted(clashes.items())))
    both = next(f"{' and '.join(n)} both bound {p}" for (_, p), n in wanted.items() if len(n) > 1)
    return Cell(False, f"{both}, each in a namespace of its own")


def vlan_routed(r: Result, driver: str) -> Cell:
    """Containers on different VLANs of one trunk: unreachable at first, reachable once a router forwards (the
    first stage with a Forward action)."""
    t = r.topology
    vid = {lan.name: lan.vid for lan in t.lans if lan.vid is not None}
    members = {
        c: {vid[t.network(n).parent or ""] for n in nets if (t.network(n).parent or "") in vid}
        for c, nets in _containers(t, driver).items()
    }
    members = {c: v for c, v in members.items() if v}
    if not members:
        return Cell(None, "no container on a VLAN parent (the scenario has no trunk)")
    routed = next((s.name for s in t.stages if any(isinstance(a, Forward) for a in s.actions)), None)

    def across(stage: str) -> list[Observation]:
        return [
            o
            for o in r.observations
            if o.stage == stage
            and str(o.probe) == "icmp"
            and o.src in members
            and o.dst in members
            and not members[o.src] & members[o.dst]
        ]

    before = across(t.stages[0].name)
    after = across(routed) if routed else []
    if not before or not after:
        return Cell(None, "no stage routes between the VLANs" if before else "no container pair across VLANs")
    closed = all(o.outcome is not Outcome.REACHABLE for o in before)
    opened = all(o.outcome is Outcome.REACHABLE for o in after)
    text = (
        f"across VLANs: {sum(o.outcome is Outcome.REACHABLE for o in before)}/{len(before)} reachable without a "
        f"router, {sum(o.outcome is Outcome.REACHABLE for o in after)}/{len(after)} in stage {routed}"
    )
    return Cell(closed and opened, text)


PROPERTIES = [
    Property("same-network", "containers on the same network reach each other", same_network),
    Property("cross-network", "containers on different networks (same node) reach each other", cross_network),
    Property("host-to-container", "the node reaches its containers", host_to_container),
    Property("peer-to-container", "a lan peer reaches the containers (no route added)", peer_to_container),
    Property("container-to-lan", "the containers reach a lan peer", container_to_lan),
    Property("own-mac", "containers show a MAC of their own on the lan", own_mac),
    Property("iptables", "Docker adds iptables rules for it", iptables),
    Property("nat", "egress to the lan is masqueraded (the peer sees the node's address)", nat),
    Property("broadcast-domain", "containers are on the lan's broadcast domain (their ARP is on it)", broadcast_domain),
    Property("spans-hosts", "containers of one network on different nodes reach each other", spans_hosts),
    Property("port-clash", "two of its containers cannot listen on one port (one port space)", port_clash),
    Property("vlan-trunk", "VLANs share one wire (a trunk), each tagged with its own 802.1Q id", vlan_trunk),
    Property(
        "vlan-routed", "containers on different VLANs of one trunk reach each other only through a router", vlan_routed
    ),
    Property("ipv6-same-network", "over IPv6: containers on the same network reach each other", ipv6_same_network),
    Property(
        "ipv6-cross-network",
        "over IPv6: containers on different networks (same node) reach each other",
        ipv6_cross_network,
    ),
    Property("ipv6-container-to-lan", "over IPv6: the containers reach a lan peer", ipv6_container_to_lan),
    Property("nat66", "IPv6 egress to the lan is masqueraded (NAT66: the peer sees the node's address)", nat66),
]


def check_claims(result: Result) -> list[dict[str, Any]]:
    """The lecture's claims the scenario names (`s.claim(id, holds)`), decided on this run's measurements."""
    from netlab.model.claims import BY_ID, verdict

    out = []
    for claim_id, holds in result.topology.claims:
        claim = BY_ID[claim_id]
        cells = {p.id: p.measure(result, claim.driver) for p in PROPERTIES if p.id in claim.expects}
        held = verdict(claim, {k: c.value for k, c in cells.items()})
        out.append(
            {
                "id": claim.id,
                "driver": claim.driver,
                "wording": claim.wording,
                **({"english": claim.english} if claim.english else {}),
                "expected": holds,
                "held": held,
                # None: this backend cannot see what decides it (no captures or rules on a remote engine)
                "as_expected": None if held is None else held is holds,
                "measured": {k: {"value": c.value, "evidence": c.evidence} for k, c in cells.items()},
                "note": claim.note,
            }
        )
    return out
