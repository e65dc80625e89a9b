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


def _bridge(name: str, third: int, br: str, six: bool = False, internal: bool = False) -> Network:
    return Network(
        name,
        Driver.BRIDGE,
        IPv4Network(f"198.18.{third}.0/24"),
        IPv4Address(f"198.18.{third}.1"),
        bridge_name=br,
        subnet6=IPv6Network(f"fd00:{third}::/64") if six else None,
        internal=internal,
    )


#: the ip6tables-save of a real dockerd 20.10.24 started with --experimental --ip6tables (IPv4 forwarding on before
#: it, so its IPv4 FORWARD policy stayed ACCEPT), after `docker network create` of front and back (--ipv6), old
#: (IPv4 only) and intern (--ipv6 --internal), and a container on front publishing 8080:80
REAL_2010_IP6TABLES = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s fd00:6::/64 ! -o br-900378462fc5 -j MASQUERADE
-A POSTROUTING -s fd00:5::/64 ! -o br-0b57a9106cdb -j MASQUERADE
-A POSTROUTING -s fd00:5::2/128 -d fd00:5::2/128 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i br-900378462fc5 -j RETURN
-A DOCKER -i br-0b57a9106cdb -j RETURN
-A DOCKER ! -i br-0b57a9106cdb -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:5::2]:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -i br-7e2d756e41fa -o br-7e2d756e41fa -j ACCEPT
-A FORWARD -o br-900378462fc5 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o br-900378462fc5 -j DOCKER
-A FORWARD -i br-900378462fc5 ! -o br-900378462fc5 -j ACCEPT
-A FORWARD -i br-900378462fc5 -o br-900378462fc5 -j ACCEPT
-A FORWARD -o br-0b57a9106cdb -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o br-0b57a9106cdb -j DOCKER
-A FORWARD -i br-0b57a9106cdb ! -o br-0b57a9106cdb -j ACCEPT
-A FORWARD -i br-0b57a9106cdb -o br-0b57a9106cdb -j ACCEPT
-A DOCKER -d fd00:5::2/128 ! -i br-0b57a9106cdb -o br-0b57a9106cdb -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 ! -s fd00:8::/64 -o br-7e2d756e41fa -j DROP
-A DOCKER-ISOLATION-STAGE-1 ! -d fd00:8::/64 -i br-7e2d756e41fa -j DROP
-A DOCKER-ISOLATION-STAGE-1 -i br-d889481159d5 ! -o br-d889481159d5 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i br-900378462fc5 ! -o br-900378462fc5 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i br-0b57a9106cdb ! -o br-0b57a9106cdb -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o br-d889481159d5 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o br-900378462fc5 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o br-0b57a9106cdb -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
COMMIT
"""


def test_docker_20_10_with_ip6tables_writes_what_the_real_daemon_writes():
    """IPv6 rules of the dual-stack networks, no DOCKER-USER, a FORWARD policy of DROP though the IPv4 one is
    ACCEPT, and the isolation rules of every bridge network, docker0 and the IPv4-only one included."""
    docker0 = _bridge("bridge", 1, "docker0")
    front = _bridge("front", 5, "br-0b57a9106cdb", six=True)
    back = _bridge("back", 6, "br-900378462fc5", six=True)
    old = _bridge("old", 7, "br-d889481159d5")
    intern = _bridge("intern", 8, "br-7e2d756e41fa", six=True, internal=True)
    web = Published(front, IPv4Address("198.18.5.2"), Publish(8080, 80), IPv6Address("fd00:5::2"))
    host = Host(forward_drop=False, ipv6=True, ip6tables=True)
    rules = engines.get("20.10").render([docker0, front, back, old, intern], [web], host)
    assert rules.ip6tables == REAL_2010_IP6TABLES
    assert ":FORWARD ACCEPT [0:0]" in rules.iptables and "DOCKER-USER" in rules.iptables


@pytest.mark.parametrize("name", ["28", "29", "29-nftables"])
def test_ip6tables_off_stops_27_and_later_from_writing_ipv6_rules(name: str):
    rules = engines.get(name).render([V4ONLY, DUAL], [WEB, LEGACY], Host(ipv6=True, ip6tables=False))
    assert rules.ip6tables == "" and "ip6 " not in rules.nftables and (rules.iptables or rules.nftables)


def test_docker_20_10_with_ip6tables_and_no_ipv6_network_yet_has_its_chains_without_jumps():
    """What the real daemon's ip6tables-save shows right after it started: the chains and docker0's isolation
    rules, no FORWARD or nat jump (each IPv6 network's set-up adds them)."""
    docker0 = _bridge("bridge", 1, "docker0")
    text = engines.get("20.10").render([docker0], [], Host(ipv6=True, ip6tables=True)).ip6tables
    assert "-A FORWARD" not in text and "-A PREROUTING" not in text and "-A OUTPUT" not in text
    assert "-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP" in text and ":FORWARD DROP [0:0]" in text


@pytest.mark.parametrize(("name", "chain"), [("28", "DOCKER-ISOLATION-STAGE-1"), ("29", "DOCKER-INTERNAL")])
def test_an_internal_network_s_ipv6_drops_spare_what_stays_on_its_bridge(name: str, chain: str):
    """moby da9e44a620 (Docker 25.0): neighbour solicitations go to multicast addresses outside the subnet, so the
    IPv6 DROPs match only what enters or leaves the bridge; IPv4 keeps the one-sided matches. 20.10 (no fix) keeps
    the IPv4 form in IPv6 too (REAL_2010_IP6TABLES above)."""
    sealed = _bridge("sealed", 8, "br-sealed", six=True, internal=True)
    rules = engines.get(name).render([sealed], [], Host(ipv6=True))
    assert f"-A {chain} ! -s fd00:8::/64 ! -i br-sealed -o br-sealed -j DROP" in rules.ip6tables
    assert f"-A {chain} ! -d fd00:8::/64 -i br-sealed ! -o br-sealed -j DROP" in rules.ip6tables
    assert f"-A {chain} ! -s 198.18.8.0/24 -o br-sealed -j DROP" in rules.iptables
