"""IPv6 on the netns backend (the bundled bridge_ipv6), per engine profile: the rules each Docker version writes
for IPv6 (none on 20.10, the IPv4 layout in ip6tables on 28 and on 20.10 with --ip6tables, an ip6 nftables table on
29-nftables, none with --ip6tables off), the source the lan sees (NAT66 or the container's own address), IPv6
routes and NDP entries, and the node's IPv6 facts."""

from __future__ import annotations

from typing import Any

import pytest
from hostsnap import HostSnapshot
from shared_scenarios import published6

from netlab.backends.netns.links import mac_from_ip
from netlab.options import RunOptions
from netlab.runner import run


def _lan_sources(r: Any, stage: str) -> dict[str, int]:
    (lan,) = [c for c in r.evidence["captures"] if c["stage"] == stage and c["point"] == "lan0"]
    return lan["facts"]["sources"]


@pytest.mark.parametrize(
    ("engine", "ip6tables"), [("20.10", None), ("28", None), ("29-nftables", None), ("20.10", "on"), ("28", "off")]
)
def test_ipv6_rules_nat66_routes_and_ndp_per_engine(
    engine: str, ip6tables: str | None, host_unchanged: HostSnapshot
) -> None:
    r = run("bridge_ipv6", RunOptions(backend="netns", engine=engine, ip6tables=ip6tables))
    assert r.ok, r.verdict.summary()
    effective = ip6tables or ("off" if engine == "20.10" else "on")
    assert r.environment["ip6tables"] == effective
    assert not r.check_predicted().unpredicted
    t = r.topology
    front, legacy = t.network("front"), t.network("legacy")
    assert front.subnet6 is not None and front.gateway6 is not None
    changes = r.evidence["firewall"]["initial"]["host"]["changes"]
    web, app = (r.endpoints[n].addresses[0] for n in ("web", "app"))
    assert web.address6 is not None and app.address6 is not None
    facts = r.environment["nodes"]["host"]
    assert facts["ipv6_forwarding"] == "1"  # Docker turns IPv6 forwarding on for a network with IPv6
    sources = _lan_sources(r, "initial")
    if effective == "off":  # no ip6tables rule, no NAT66: the lan sees the containers' own addresses
        assert not any(table.startswith(("ip6", "nft:ip6")) for table in changes)
        assert facts["forward_policy6"] is None
        assert f"{web.address6} (web)" in sources
    else:
        six = changes["nft:ip6 docker-bridges"] if engine == "29-nftables" else changes["ip6:nat"]
        rules = [rule for chain in six["added"].values() for rule in chain]
        assert any(str(front.subnet6) in rule and "asquerade" in rule.lower() for rule in rules), rules
        assert not any(str(legacy.subnet) in rule for rule in rules)
        if engine != "20.10":  # 20.10 isolates every bridge network in ip6tables, IPv4-only ones too
            assert not any(legacy.bridge_name in rule for rule in rules)
        assert not any(a.startswith("fd") and not a.endswith("(host)") for a in sources), sources
        if engine != "29-nftables":
            assert facts["forward_policy6"] == "DROP"
    found = r.evidence["routes"]["initial"]
    assert f"default via {front.gateway6} dev eth0" in found["web"]["routes6"]
    assert any(n.startswith(f"{app.address6} {mac_from_ip(app.address)} dev eth0") for n in found["web"]["neighbours6"])
    assert not found["old"].get("routes6")  # an IPv4-only container: IPv6 off, no route
    uplink = t.uplink("host", "lan0")
    assert uplink is not None
    via6 = t.lan("lan0").v6_of(uplink.address)
    assert f"{front.subnet6} via {via6} dev eth0" in r.evidence["routes"]["route"]["ext"]["routes6"]
    bridge = [c for c in r.evidence["captures"] if c["stage"] == "initial" and c["point"] == "host-front"]
    assert any(str(app.address6) in asked for asked in bridge[0]["facts"]["ndp"])


@pytest.mark.parametrize(
    ("engine", "ip6tables", "proxy"),
    [("20.10", None, "on"), ("20.10", "on", "off"), ("20.10", None, "off"), ("28", None, "off"), ("29", None, "off")],
)
def test_published_ports_over_ipv6_from_containers_are_what_docker_s_rules_predict(
    engine: str, ip6tables: str | None, proxy: str, host_unchanged: HostSnapshot
) -> None:
    r = run(published6(), RunOptions(backend="netns", engine=engine, ip6tables=ip6tables, userland_proxy=proxy))
    p = r.check_predicted()
    assert not p.unpredicted, [c.reason for c in p.unpredicted]
    assert p.verdict.ok, p.summary()
    seen = {(o.src, str(o.probe)): o.outcome.value for o in r.observations if o.dst == "host"}
    mapped = proxy == "on" or ip6tables == "on" or engine != "20.10"  # docker-proxy, or an ip6tables DNAT
    assert seen[("app", "tcp6:8080")] == ("reachable" if mapped else "unreachable")
    assert seen[("db", "tcp6:9090")] == ("reachable" if proxy == "on" else "unreachable")  # old has no IPv6
