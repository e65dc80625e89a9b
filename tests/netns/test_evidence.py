"""Firewall evidence on real namespaces: what each driver adds to the node's rules."""

from __future__ import annotations

from typing import Any

from hostsnap import HostSnapshot

from netlab.backends.netns.links import mac_from_ip
from netlab.runner import run_scenario


def _added(changes: dict[str, Any], table: str) -> list[str]:
    return [rule for rules in changes.get(table, {}).get("added", {}).values() for rule in rules]


def test_bridge_adds_masquerade_isolation_and_dnat(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge")
    first = r.evidence["firewall"][r.topology.stages[0].name]["host"]
    assert first["tool"] in ("iptables-nft", "iptables-legacy")
    nat, filt = _added(first["changes"], "nat"), _added(first["changes"], "filter")
    for net in ("front", "back"):
        subnet = str(r.topology.network(net).subnet)
        assert any(f"-s {subnet}" in x and "-j MASQUERADE" in x for x in nat), (net, nat)
    assert sum("DOCKER-ISOLATION-STAGE-2 -o br-" in x and x.endswith("-j DROP") for x in filt) == 2
    assert any("--dport 8080 -j DNAT" in x for x in nat)
    # the default bridge belongs to the daemon's baseline, not to the scenario
    assert not any("docker0" in x for x in nat + filt)
    # the route stage changes a peer's routes, not the node's firewall
    assert r.evidence["firewall"]["route"]["host"]["changes"] == {}


def test_macvlan_adds_no_rule_to_the_host(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("macvlan")
    for stage, nodes in r.evidence["firewall"].items():
        assert nodes["host"]["changes"] == {}, stage


def _neighbour_macs(found: dict[str, Any]) -> dict[str, str]:
    return {n.split()[0]: n.split()[1] for n in found["neighbours"]}


def test_routes_and_neighbours_after_probing(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge")
    first = r.evidence["routes"]["initial"]
    front = r.topology.network("front")
    assert f"default via {front.gateway} dev eth0" in first["web"]["routes"]
    app = r.endpoints["app"].addresses[0].address
    assert _neighbour_macs(first["web"])[str(app)] == mac_from_ip(app)  # Docker's 02:42 + IPv4 MAC, seen on the wire
    assert not any("198.18.2.0/24 via" in x for x in first["ext"]["routes"])
    node = r.topology.uplink("host", "lan0")
    assert node is not None
    assert f"{front.subnet} via {node.address} dev eth0" in r.evidence["routes"]["route"]["ext"]["routes"]


def test_macvlan_children_show_their_own_macs_to_the_peer(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("macvlan")
    peer = _neighbour_macs(r.evidence["routes"]["initial"]["ext"])
    macs = {c: peer[str(r.endpoints[c].addresses[0].address)] for c in ("c1", "c2")}
    assert macs["c1"] != macs["c2"]
    assert all(m == mac_from_ip(r.endpoints[c].addresses[0].address) for c, m in macs.items())
