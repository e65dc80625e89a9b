"""IPv6 on the real Docker Engine (bundled bridge_ipv6; tests/docker/test_parity.py compares it with netns cell for
cell): netlab runs it on a daemon of its own in the run's node namespace, because Docker turns IPv6 forwarding on
where it creates an IPv6 network; the machine's forwarding stays as it was (the fixture's snapshot), Docker 20.10
writes no ip6tables rule and sends the containers' IPv6 traffic to the lan unmasqueraded (no NAT66)."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_scenarios import published6
from test_parity import captures, firewall, matrix

from netlab import loader, runner
from netlab.options import RunOptions
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


@pytest.mark.parametrize("name", ["bridge_ipv6", "bridge_internal"])
def test_docker_20_10_with_experimental_ip6tables_agrees_with_netns(
    name: str, host_and_docker_unchanged: None, tmp_path: Path
) -> None:
    """The scenario with `s.daemon(ip6tables=True)`: netlab starts its daemon with --experimental --ip6tables, Docker
    20.10 isolates the bridges over IPv6, masquerades them to the lan (NAT66), drops what is routed in and, on an
    internal network, the neighbour solicitations of its members; the netns backend's 20.10 profile writes the same
    ip6tables rules and measures the same matrix."""
    source = loader.locate(name).read_text()
    scenario = tmp_path / f"{name}_ip6tables.py"
    scenario.write_text(source.replace("\nSCENARIO = s", "\ns.daemon(ip6tables=True)\nSCENARIO = s"))
    docker = run_scenario(str(scenario), backend="docker")
    assert docker.ok, docker.verdict.summary()
    assert docker.environment["ip6tables"] == "on"
    assert docker.environment["daemon_options"]["experimental"] == "true"
    changes = docker.evidence["firewall"]["initial"]["host"]["changes"]
    assert any(table.startswith("ip6") for table in changes)
    netns = run_scenario(str(scenario), backend="netns")
    assert netns.ok and netns.environment["ip6tables"] == "on"
    a, b = matrix(docker), matrix(netns)
    assert {k: (a[k], b[k]) for k in a if a[k] != b[k]} == {}
    assert not docker.check_predicted().unpredicted
    assert docker.check_predicted().verdict.ok
    assert firewall(docker) == firewall(netns)
    assert captures(docker) == captures(netns)


def test_published_ports_over_ipv6_from_containers_on_real_docker(host_and_docker_unchanged: None) -> None:
    """Without docker-proxy, with ip6tables: the DNAT lands on the published container's IPv6 address (hairpin NAT
    from its own bridge), the isolation rules drop it from another bridge, and a container with no IPv6 address is
    not reached at all; the same on netns, and what Docker's rules predict."""
    s = published6()
    s.daemon(ip6tables=True, userland_proxy=False)
    docker = runner.run(s, RunOptions(backend="docker"))
    seen = {(o.src, str(o.probe)): o.outcome.value for o in docker.observations if o.dst == "host"}
    assert {k: v for k, v in seen.items() if k[1].startswith("tcp6")} == {
        ("app", "tcp6:8080"): "reachable",
        ("db", "tcp6:8080"): "unreachable",
        ("app", "tcp6:9090"): "unreachable",
        ("db", "tcp6:9090"): "unreachable",
    }
    p = docker.check_predicted()
    assert not p.unpredicted and p.verdict.ok, p.summary()
    s = published6()
    s.daemon(ip6tables=True, userland_proxy=False)
    netns = runner.run(s, RunOptions(backend="netns"))
    a, b = matrix(docker), matrix(netns)
    assert {k: (a[k], b[k]) for k in a if a[k] != b[k]} == {}


def test_a_compose_ipv6_address_is_the_one_docker_gives_and_netns_agrees(
    host_and_docker_unchanged: None, tmp_path: Path
) -> None:
    """compose's `ipv6_address` moves with its subnet into netlab's pool (the host part kept): Docker gives the
    container that address (read back from `docker inspect`), its embedded DNS answers AAAA with it, and the netns
    backend measures the same matrix."""
    f = tmp_path / "compose.yml"
    f.write_text(
        "services:\n"
        "  web: {image: nginx, networks: {six: {ipv6_address: '2001:db8:7::80'}}}\n"
        "  app: {image: nginx, networks: [six]}\n"
        "networks:\n"
        "  six:\n"
        "    enable_ipv6: true\n"
        "    ipam: {config: [{subnet: 10.77.0.0/24}, {subnet: '2001:db8:7::/64'}]}\n"
    )
    docker = run_scenario(str(f), backend="docker")
    netns = run_scenario(str(f), backend="netns")
    six = docker.topology.network("six").subnet6
    assert six is not None and str(six).startswith("fd6e:6574:6c00:")
    for r in (docker, netns):
        assert r.endpoints["web"].addresses[0].address6 == six.network_address + 0x80
        dns = [o for o in r.observations if (o.src, o.dst, str(o.probe)) == ("app", "web", "dns6:web")]
        assert [o.outcome.symbol for o in dns] == ["."] and str(six.network_address + 0x80) in dns[0].detail
    a, b = matrix(docker), matrix(netns)
    assert {k: (a[k], b[k]) for k in a if a[k] != b[k]} == {}
