"""Capture facts attached to the cells they explain.

The facts of a capture point are about a segment; a cell is a probe between two endpoints. Three
kinds of fact say something about particular cells:
- a lan's `sources` about cells from a container to a peer on that lan: did the peer see the container's
  own address, or its node's (masquerade)?
- a lan's `macs` about cells from a peer to a container: the MAC the peer's segment knows it by, the
  container's own (macvlan) or its node's (ipvlan L2, a routed hop);
- a lan's `vxlan` about cells between the inner addresses it carried: the VNI and the underlay hop.
"""

from __future__ import annotations

from typing import Any

from netlab.model.deployed import Endpoint
from netlab.model.results import Observation, Outcome
from netlab.model.topology import EndpointKind, Topology


def attach(
    t: Topology, endpoints: dict[str, Endpoint], observations: list[Observation], captures: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """[{stage, src, dst, probe, facts: [sentence]}] for every reachable cell a capture fact explains."""
    peer_lan = {p.name: p.lan for p in t.peers}
    node_of = {c.name: c.node for c in t.containers}
    address4: dict[str, list[str]] = {n: [str(a.address) for a in ep.addresses] for n, ep in endpoints.items()}
    address6: dict[str, list[str]] = {
        n: [str(a.address6) for a in ep.addresses if a.address6 is not None] for n, ep in endpoints.items()
    }
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for c in captures:
        if c.get("role") == "lan":
            by_stage.setdefault(c["stage"], []).append(c)
    out: dict[tuple[str, str, str, str], list[str]] = {}
    for o in observations:
        if o.outcome is not Outcome.REACHABLE:
            continue
        src, dst = endpoints.get(o.src), endpoints.get(o.dst)
        if src is None or dst is None:
            continue
        found: list[str] = []
        address = address6 if o.probe.v6 else address4  # the probe's family: an icmp6 cell's facts are IPv6 ones
        for cap in by_stage.get(o.stage, []):
            lan, facts = cap["point"], cap.get("facts", {})
            if src.kind is EndpointKind.CONTAINER and peer_lan.get(o.dst) == lan and facts.get("sources"):
                found += _source_fact(o, lan, facts["sources"], address, node_of)
            if dst.kind is EndpointKind.CONTAINER and peer_lan.get(o.src) == lan and facts.get("macs"):
                found += _mac_fact(o, lan, facts["macs"], address, node_of)
            for what in facts.get("vxlan", {}):
                inner = what.split(" carrying ")[-1].split(" -> ")
                if len(inner) == 2 and inner[0] in address[o.src] and inner[1] in address[o.dst]:
                    found.append(f"crossed {lan} in VXLAN: {what.split(' carrying ')[0]}")
        if found:
            out.setdefault((o.stage, o.src, o.dst, str(o.probe)), []).extend(found)
    return [{"stage": k[0], "src": k[1], "dst": k[2], "probe": k[3], "facts": v} for k, v in out.items()]


def _named(facts: dict[str, Any]) -> dict[str, Any]:
    """Fact keys are "address (name)": by address."""
    return {key.split()[0]: value for key, value in facts.items()}


def _source_fact(
    o: Observation, lan: str, sources: dict[str, int], address: dict[str, list[str]], node_of: dict[str, str]
) -> list[str]:
    seen = _named(sources)
    own = [a for a in address[o.src] if a in seen]
    if own:
        return [f"{o.dst} received {o.src}'s own address {own[0]} on {lan}: no masquerade"]
    node = node_of.get(o.src)
    via = [a for a in address.get(node or "", []) if a in seen]
    if via:
        return [f"{o.dst} saw {via[0]} ({node}), never {o.src}'s own address, on {lan}: masqueraded"]
    return []


def _mac_fact(
    o: Observation, lan: str, macs: dict[str, str], address: dict[str, list[str]], node_of: dict[str, str]
) -> list[str]:
    known = _named(macs)
    node = node_of.get(o.dst)
    node_macs = {known[a] for a in address.get(node or "", []) if a in known}
    for a in address[o.dst]:
        if a in known:
            whose = f"{node}'s MAC" if known[a] in node_macs else "a MAC of its own"
            return [f"{lan} knows {o.dst} ({a}) at {known[a]}: {whose}"]
    return []
