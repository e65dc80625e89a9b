"""The engine profiles' IPv6 rules: Docker 20.10 writes none (no --ip6tables), 28 and 29 write for each
dual-stack network the rules they write for IPv4, in IPv6 words (moby's iptabler has one code path for both
families: subnets, /128 addresses, ::1/128 for the loopback exception, a DNAT skipping link-local sources).
29-nftables' ip6 table is checked against moby's golden files in test_engine_golden.py."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest

from netlab.backends import engines
from netlab.backends.engines import Host, Published
from netlab.model.topology import Driver, Network, Publish

DUAL = Network(
    "dual",
    Driver.BRIDGE,
    IPv4Network("198.18.1.0/24"),
    IPv4Address("198.18.1.1"),
    bridge_name="br-dual",
    subnet6=IPv6Network("fd6e:6574:6c00:1::/64"),
)
V4ONLY = Network("v4", Driver.BRIDGE, IPv4Network("198.18.2.0/24"), IPv4Address("198.18.2.1"), bridge_name="br-v4")
WEB = Published(DUAL, IPv4Address("198.18.1.2"), Publish(8080, 80), IPv6Address("fd6e:6574:6c00:1::2"))
LEGACY = Published(V4ONLY, IPv4Address("198.18.2.2"), Publish(9090, 90))


def in_v6_words(v4: str) -> str:
    """The IPv4 rules of DUAL as the same code writes them for IPv6."""
    lines = []
    for line in v4.splitlines():
        if "br-v4" in line or "198.18.2." in line:
            continue  # an IPv4-only network has no IPv6 rule
        line = line.replace("198.18.1.0/24", "fd6e:6574:6c00:1::/64").replace("127.0.0.0/8", "::1/128")
        line = line.replace("198.18.1.2/32", "fd6e:6574:6c00:1::2/128")
        line = line.replace("--to-destination 198.18.1.2:80", "--to-destination [fd6e:6574:6c00:1::2]:80")
        if "-j DNAT" in line:
            line = line.replace("-A DOCKER ", "-A DOCKER ! -s fe80::/10 ")
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", ["28", "29"])
@pytest.mark.parametrize("proxy", [True, False])
def test_28_and_29_write_the_ipv4_rules_in_ipv6_words_for_dual_stack_networks(name: str, proxy: bool):
    rules = engines.get(name).render([V4ONLY, DUAL], [WEB, LEGACY], Host(userland_proxy=proxy, ipv6=True))
    assert rules.ip6tables == in_v6_words(rules.iptables)
    assert "-A DOCKER ! -s fe80::/10 " in rules.ip6tables
    assert "-A PREROUTING -d fd6e:6574:6c00:1::2/128 ! -i br-dual -j DROP" in rules.ip6tables


@pytest.mark.parametrize("drop", [True, False])
def test_the_ipv6_forward_policy_follows_the_host_knob(drop: bool):
    rules = engines.get("28").render([DUAL], [], Host(forward_drop=drop, ipv6=True))
    assert f":FORWARD {'DROP' if drop else 'ACCEPT'} [0:0]" in rules.ip6tables


def test_docker_20_10_writes_no_ipv6_rule():
    rules = engines.get("20.10").render([V4ONLY, DUAL], [WEB, LEGACY], Host(ipv6=True))
    assert rules.ip6tables == "" and rules.iptables


@pytest.mark.parametrize("name", ["28", "29", "29-nftables"])
def test_no_ipv6_rules_are_rendered_for_a_node_without_an_ipv6_network(name: str):
    rules = engines.get(name).render([V4ONLY], [LEGACY], Host())
    assert rules.ip6tables == "" and "ip6" not in rules.nftables


def test_a_port_published_on_a_host_ipv4_address_gets_no_ipv6_rule():
    local = Published(DUAL, WEB.address, Publish(8081, 81, host_ip=IPv4Address("127.0.0.1")), WEB.address6)
    rules = engines.get("28").render([DUAL], [local], Host(ipv6=True))
    assert "8081" in rules.iptables and "8081" not in rules.ip6tables
