"""Engine profiles on real namespaces: what the kernel holds after netns deploys moby's own example equals, rule
for rule, what moby documents for Docker 28 and 29 (read back with iptables-save / nft, the kernel's
canonical form, not netlab's text); every profile runs the bundled bridge scenarios to exit 0 on either
FORWARD policy; and `compare-engines` shows the lan peer's direct access closing in 28."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netlab import Scenario, nsthread
from netlab.backends.netns.backend import NetnsBackend
from netlab.kernel import features, uml
from netlab.options import RunOptions
from netlab.runner import _fresh_run_id, deployed, run
from netlab.upgrade import compare, render

MOBY = Path(__file__).parent.parent / "data" / "moby"
pytestmark = pytest.mark.usefixtures("host_unchanged")


def portmap() -> Scenario:
    """moby's usernet-portmap: a user bridge named bridge1 and c1 publishing 8080 -> 80."""
    s = Scenario("portmap")
    net = s.network("bridge1", driver="bridge", options={"com.docker.network.bridge.name": "bridge1"})
    c1 = s.container("c1", net, publish={8080: 80})
    s.expect("host", c1, "icmp", reachable=True)
    return s


def by_chain(lines: list[str]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    table = ""
    for line in lines:
        if line.startswith("*"):
            table = line[1:]
            out[table] = {}
        elif line.startswith("-A "):
            out[table].setdefault(line.split()[1], []).append(line)
    return out


@pytest.mark.parametrize("profile", ["28", "29"])
def test_the_kernel_holds_the_rules_moby_documents(profile: str):
    topology = portmap().build()
    backend = NetnsBackend(forward_policy="accept", engine=profile)
    with deployed(backend, topology, _fresh_run_id(), {}) as dep:
        host = dep.endpoints["host"]
        assert host.netns is not None
        saved = nsthread.run(host.netns, ["iptables-save"])
        net = topology.network("bridge1")
        docker0 = topology.network("bridge")
        c1 = str(next(a.address for a in topology.container("c1").attachments))
    # moby's addresses for the same objects
    text = (
        saved.replace(f"{c1}/32", "192.0.2.2/32")
        .replace(f"{c1}:80", "192.0.2.2:80")
        .replace(str(net.subnet), "192.0.2.0/24")
        .replace(str(docker0.subnet), "172.17.0.0/16")
    )
    got = by_chain(text.splitlines())
    expected = by_chain(
        [
            f"*{line[1:]}" if line.startswith("*") else line
            for line in (MOBY / "iptables" / profile / "usernet-portmap.rules").read_text().splitlines()
        ]
    )
    for table, chains in expected.items():
        assert {c: r for c, r in got.get(table, {}).items() if r} == chains, table


def test_the_kernel_holds_mobys_nftables_table():
    s = Scenario("nft")
    net = s.network("dummy", driver="bridge", options={"com.docker.network.bridge.name": "br-dummy"})
    c1 = s.container("c1", net, publish={8080: 80})
    s.expect("host", c1, "icmp", reachable=True)
    topology = s.build()
    with deployed(NetnsBackend(engine="29-nftables"), topology, _fresh_run_id(), {}) as dep:
        host = dep.endpoints["host"]
        assert host.netns is not None
        listed = nsthread.run(host.netns, ["nft", "list", "table", "ip", "docker-bridges"])
        iptables = nsthread.run(host.netns, ["iptables-save"])
        address = str(next(a.address for a in topology.container("c1").attachments))
    assert iptables.strip() == "" or "-A " not in iptables  # Docker writes no iptables rule in this mode
    for line in [
        f'ip daddr {address} iifname != "br-dummy" counter packets 0 bytes 0 drop comment "DROP DIRECT ACCESS"',
        f"ip daddr {address} tcp dport 80 counter packets 0 bytes 0 accept",
        'counter packets 0 bytes 0 drop comment "UNPUBLISHED PORT DROP"',
        "type nat hook output priority -100; policy accept;",
    ]:
        assert line in listed


@pytest.mark.parametrize(
    ("engine", "policy"),
    [("20.10", "drop"), ("20.10", "accept"), ("28", "drop"), ("28", "accept"), ("29", "accept"), ("29-nftables", None)],
)
@pytest.mark.parametrize("scenario", ["bridge", "bridge_nonat", "bridge_ipv6"])
def test_bundled_bridge_scenarios_hold_on_every_profile_and_policy(scenario: str, engine: str, policy: str | None):
    result = run(scenario, RunOptions(backend="netns", engine=engine, forward_policy=policy))
    assert result.ok, result.verdict.summary()
    assert result.environment["engine_profile"] == engine
    result.check_predicted()  # every cell, not only the expected ones, is what Docker's rules say for the profile
    routed = [c for c in result.verdict.checks if c.expectation.when]
    assert routed, "the route stage's conditional cells were all left out"


def test_docker_28_evidence_shows_its_chains():
    result = run("bridge", RunOptions(backend="netns", engine="28"))
    added = result.evidence["firewall"]["initial"]["host"]["changes"]
    chains = set(added["filter"]["added"]) | set(added["raw"]["added"])
    assert {"DOCKER-FORWARD", "DOCKER-BRIDGE", "DOCKER-CT", "DOCKER", "PREROUTING"} <= chains


def test_compare_engines_shows_the_peers_direct_access_closing_in_28():
    c = compare("bridge", ["20.10", "28"], forward_policy="accept")
    closing = {(d.stage, d.src, d.dst, d.probe): d for d in c.differences}
    web = closing[("route", "ext", "web", "icmp")]
    assert web.marks == {"20.10": ".", "28": "X"}
    assert "raw PREROUTING" in web.why["28"]
    assert "DOCKER ! -i" in closing[("route", "ext", "app", "tcp:80")].why["28"]
    assert c.rule_counts["raw"].get("20.10", 0) == 0 and c.rule_counts["raw"]["28"] == 1


def test_compare_engines_cli_prints_the_differences():
    done = subprocess.run(
        ["netlab", "compare-engines", "bridge", "20.10", "28", "--forward-policy", "accept"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "cells that differ" in done.stdout and "ext -> web" in done.stdout


def test_compare_engines_runs_a_scenario_this_kernel_cannot_in_user_mode_linux():
    """ipvlan_l2 needs ipvlan: where the host kernel lacks it, the guest runs Docker's iptables profiles and says
    why 29-nftables did not run (its nf_tables has no nat chain type)."""
    assert not uml.available() or features.link_kinds().get("ipvlan") == "", "tests/run.sh installs user-mode Linux"
    c = compare("ipvlan_l2", ["20.10", "29", "29-nftables"], forward_policy="drop")
    if features.link_kinds().get("ipvlan") == "":
        assert c.kernel == "host" and set(c.results) == {"20.10", "29", "29-nftables"}
        return
    assert c.kernel == "uml" and c.engines == ["20.10", "29"] and set(c.results) == {"20.10", "29"}
    assert "no nat chain type" in c.not_run["29-nftables"]
    assert all(r.environment["kernel_runner"] == "uml" and r.ok for r in c.results.values())
    assert [r.environment["engine_version"].split(".")[0] for r in c.results.values()] == ["20", "29"]
    text = render(c)
    assert "in user-mode Linux" in text and "29-nftables  not run:" in text
