"""Evidence on real namespaces: firewall diffs, routes and neighbours, and what the captures prove."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import scapyref
from hostsnap import HostSnapshot

from netlab import loader
from netlab.backends.netns.links import mac_from_ip
from netlab.evidence import capture
from netlab.runner import run_scenario, run_topology


def _added(changes: dict[str, Any], table: str) -> list[str]:
    return [rule for rules in changes.get(table, {}).get("added", {}).values() for rule in rules]


def test_bridge_adds_masquerade_isolation_and_dnat(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge", engine="20.10")
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
    # a route stage makes Docker write no rule: not read again (an iptables-save costs seconds under uml)
    assert r.evidence["firewall"]["route"]["host"] == {"tool": first["tool"], "changes": {}, "read": False}


def test_a_connect_stage_is_read_again(host_unchanged: HostSnapshot) -> None:
    r = run_scenario(str(Path(__file__).resolve().parent.parent / "data" / "remote_bridge.py"))
    moved = r.evidence["firewall"]["moved"]["host"]
    assert "read" not in moved and moved["changes"] == {}  # joining a bridge without published ports: no rule
    # not blind: the same reader saw the first stage's networks and published port arrive
    first = r.evidence["firewall"][r.topology.stages[0].name]["host"]["changes"]
    assert any("DNAT" in rule for rules in first["nat"]["added"].values() for rule in rules), first


def test_macvlan_adds_no_rule_to_the_host(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("macvlan")
    for stage, nodes in r.evidence["firewall"].items():
        assert nodes["host"]["changes"] == {}, stage
        assert "read" not in nodes["host"], stage  # read again after the shim stage, not skipped
    # not blind: in the same run the same reader saw Docker's embedded-DNS rules appear inside the containers
    inside = r.evidence["container_firewall"][r.topology.stages[0].name]
    assert set(inside) == {"c1", "c2"}, inside


def test_embedded_dns_rules_are_inside_the_containers_not_the_node(host_unchanged: HostSnapshot) -> None:
    """Docker's DNAT of 127.0.0.11:53 to the resolver's real ports, in each container's own nat table; the
    DNS probes are answered through it (the resolver listens only on those ports)."""
    topology = loader.load("bridge")
    planted: dict[str, set[tuple[str, int]]] = {}

    def note(dep: Any, i: int, obs: Any) -> None:
        for w in dep.dns_servers:
            planted.setdefault(w.netns, set()).add((w.proto, w.port))

    r = run_topology(topology, on_stage=note)
    inside = r.evidence["container_firewall"]["initial"]
    assert sorted(inside) == ["app", "db", "web"]  # `legacy` is on the default bridge: no embedded DNS
    for name, found in inside.items():
        nat = _added(found["changes"], "nat")
        assert "-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT" in nat
        ports = {
            proto: int(x.rsplit(":", 1)[1])
            for x in nat
            for proto in ("udp", "tcp")
            if f"-p {proto} -m {proto} --dport 53 -j DNAT" in x
        }
        assert set(ports) == {"udp", "tcp"} and all(p != 53 for p in ports.values()), nat
        netns = r.endpoints[name].netns
        assert planted[netns] == {("dns", ports["udp"]), ("dnstcp", ports["tcp"])}
    host_rules = [
        x
        for t in r.evidence["firewall"]["initial"]["host"]["changes"]
        for x in _added(r.evidence["firewall"]["initial"]["host"]["changes"], t)
    ]
    assert not any("127.0.0.11" in x for x in host_rules)
    dns = [c for c in r.verdict.checks if str(c.expectation.probe).startswith("dns:")]
    assert dns and all(c.ok for c in dns)
    assert any(c.observed.value == "reachable" for c in dns)
    # a route stage writes no rule: not read again
    assert all(v.get("read") is False for v in r.evidence["container_firewall"]["route"].values())


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


def _capture(r: Any, stage: str, point: str) -> dict[str, Any]:
    found = [c for c in r.evidence["captures"] if c["stage"] == stage and c["point"] == point]
    assert len(found) == 1, [(c["stage"], c["point"]) for c in r.evidence["captures"]]
    return found[0]


def test_bridge_nat_is_seen_on_the_lan_and_pcaps_open_in_scapy(host_unchanged: HostSnapshot, tmp_path: Path) -> None:
    from scapy.all import rdpcap  # scapy.all registers the link types rdpcap decodes

    r = run_topology(loader.load("bridge"), pcap=str(tmp_path))
    lan = _capture(r, "initial", "lan0")
    # containers' traffic reached the peer from the node's lan address only: masquerade
    assert lan["facts"]["sources"] and all(a.endswith("(host)") for a in lan["facts"]["sources"])
    for c in r.evidence["captures"]:
        assert c["pcap"] == str(tmp_path / f"{c['stage']}-{c['point']}.pcap")
        assert len(rdpcap(c["pcap"])) == c["packets"]
    assert lan["packets"] > 0


def test_without_masquerade_the_peer_sees_the_container(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge_nonat")
    sources = _capture(r, "initial", "lan0")["facts"]["sources"]
    c1 = r.endpoints["c1"].addresses[0].address
    assert f"{c1} (c1)" in sources
    assert _capture(r, "initial", "lan0")["pcap"] is None  # no --pcap: nothing written


def test_macvlan_children_have_their_own_macs_on_the_wire(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("macvlan")
    macs = _capture(r, "initial", "lan0")["facts"]["macs"]
    for c in ("c1", "c2"):
        addr = r.endpoints[c].addresses[0].address
        assert macs[f"{addr} ({c})"] == mac_from_ip(addr)


def test_overlay_underlay_carries_vxlan_with_the_network_vni(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("overlay")
    vxlan = _capture(r, "initial", "underlay")["facts"]["vxlan"]
    a, b = (str(r.endpoints[n].addresses[0].address) for n in ("a", "b"))
    host, node2 = (str(r.topology.uplink(n, "underlay").address) for n in ("host", "node2"))  # type: ignore[union-attr]
    assert vxlan[f"{host} -> {node2} VNI 4097 carrying {a} -> {b}"] > 0
    assert vxlan[f"{node2} -> {host} VNI 4097 carrying {b} -> {a}"] > 0


def test_legacy_and_native_nft_rules_are_read_beside_iptables_nft(host_unchanged: HostSnapshot) -> None:
    from netlab import nsthread
    from netlab.backends import naming
    from netlab.evidence import firewall

    name = naming.ns_name(naming.new_run_id(), "fwviews")
    path = nsthread.create(name)
    try:
        before = firewall.save(path, "iptables-nft")
        nsthread.run(path, ["iptables-nft", "-A", "INPUT", "-j", "ACCEPT"])
        nsthread.run(path, ["iptables-legacy", "-A", "OUTPUT", "-j", "ACCEPT"])
        nsthread.run(path, ["nft", "add", "table", "inet", "guard"])
        nsthread.run(path, ["nft", "add", "chain", "inet", "guard", "in", "{ type filter hook input priority 0; }"])
        nsthread.run(path, ["nft", "add", "rule", "inet", "guard", "in", "tcp", "dport", "22", "counter", "accept"])
        changes = firewall.diff(before, firewall.save(path, "iptables-nft"))
    finally:
        nsthread.remove(name)
    assert changes["filter"]["added"] == {"INPUT": ["-A INPUT -j ACCEPT"]}
    assert changes["legacy:filter"]["added"] == {"OUTPUT": ["-A OUTPUT -j ACCEPT"]}
    assert changes["nft:inet guard"]["added"] == {"in": ["-A in tcp dport 22 counter accept"]}


def _cell(r: Any, stage: str, src: str, dst: str, probe: str = "icmp") -> list[str]:
    found = [
        c["facts"]
        for c in r.evidence["cells"]
        if (c["stage"], c["src"], c["dst"], c["probe"]) == (stage, src, dst, probe)
    ]
    return found[0] if found else []


def test_capture_facts_are_attached_to_the_cells_they_explain(host_unchanged: HostSnapshot) -> None:
    bridge, nonat = run_scenario("bridge"), run_scenario("bridge_nonat")
    node = str(bridge.topology.uplink("host", "lan0").address)  # type: ignore[union-attr]
    assert f"ext saw {node} (host), never web's own address, on lan0: masqueraded" in _cell(
        bridge, "initial", "web", "ext"
    )
    c1 = str(nonat.endpoints["c1"].addresses[0].address)
    assert f"ext received c1's own address {c1} on lan0: no masquerade" in _cell(nonat, "route_back", "c1", "ext")
    macvlan = run_scenario("macvlan")
    a1 = macvlan.endpoints["c1"].addresses[0].address
    assert f"lan0 knows c1 ({a1}) at {mac_from_ip(a1)}: a MAC of its own" in _cell(macvlan, "initial", "ext", "c1")
    overlay = run_scenario("overlay")
    assert any(
        f.startswith("crossed underlay in VXLAN:") and "VNI 4097" in f for f in _cell(overlay, "initial", "a", "b")
    )


@pytest.mark.parametrize("name", ["macvlan", "overlay", "bridge_ipv6"])
def test_real_captures_give_the_facts_scapy_gives(
    name: str, host_unchanged: HostSnapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """netlab takes the frames apart itself (netlab/evidence/frames.py): on every capture point of real runs (ARP and
    neighbour discovery of a dual-stack macvlan, VXLAN on an overlay's underlay, NAT on a lan), with every frame kept
    (--pcap), its facts are those scapy's dissection gives (tests/scapyref.py)."""
    compared: list[tuple[dict[str, Any], dict[str, Any]]] = []
    decode = capture.facts

    def both(frames: list[Any], role: str, owner: dict[str, str], peers: set[str]) -> dict[str, Any]:
        ours = decode(frames, role, owner, peers)
        compared.append((ours, scapyref.facts([data for _, _, data in frames], role, owner, peers)))
        return ours

    monkeypatch.setattr(capture, "facts", both)
    r = run_topology(loader.load(name), pcap=str(tmp_path))
    assert r.ok, r.verdict.summary()
    assert compared and any(ours for ours, _ in compared)
    for ours, theirs in compared:
        assert ours == theirs
