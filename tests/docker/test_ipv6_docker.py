"""IPv6 on the real Docker Engine (bundled bridge_ipv6; tests/docker/test_parity.py compares it with netns cell for
cell): netlab runs it on a daemon of its own in the run's node namespace, because Docker turns IPv6 forwarding on
where it creates an IPv6 network; the machine's forwarding stays as it was (the fixture's snapshot), Docker 20.10
writes no ip6tables rule and sends the containers' IPv6 traffic to the lan unmasqueraded (no NAT66)."""

from __future__ import annotations

from netlab.runner import run_scenario


def test_docker_20_10_ipv6_on_a_private_daemon_no_rules_no_nat66(host_and_docker_unchanged: None) -> None:
    r = run_scenario("bridge_ipv6", backend="docker")
    assert r.ok, r.verdict.summary()
    assert r.environment["engine_version"].startswith("20.10")
    assert r.environment["nodes"]["host"]["ipv6_forwarding"] == "1"  # in the node's namespace, not the machine's
    changes = r.evidence["firewall"]["initial"]["host"]["changes"]
    assert not any(table.startswith("ip6") for table in changes)
    web = r.endpoints["web"].addresses[0]
    assert web.address6 is not None and str(web.address6).startswith("fd6e:6574:6c00:")
    (lan,) = [c for c in r.evidence["captures"] if c["stage"] == "initial" and c["point"] == "lan0"]
    assert f"{web.address6} (web)" in lan["facts"]["sources"]  # the peer saw the container's own address
    front = r.topology.network("front")
    assert any(
        x.startswith(f"default via {front.gateway6} dev eth0")
        for x in r.evidence["routes"]["initial"]["web"]["routes6"]
    )
