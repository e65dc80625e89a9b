"""The engine profiles 28, 29 and 29-nftables against what moby documents for its own daemon, rule for rule:
the `iptables -S` blocks of integration/network/bridge/iptablesdoc/generated/*.md (v28.5.2, docker-v29.7.2)
and the nftabler unit test's golden tables (docker-v29.7.2), copied to tests/data/moby by refresh.py.
Each case builds the same networks and published ports the moby document describes."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import pytest

from netlab.backends import engines
from netlab.backends.engines import Host, Published
from netlab.model.topology import Driver, Network, Publish

MOBY = Path(__file__).parent.parent / "data" / "moby"
ICC_OFF = {"com.docker.network.bridge.enable_icc": "false"}
MASQ_OFF = {"com.docker.network.bridge.enable_ip_masquerade": "false"}


def bridge(name: str, subnet: str, br: str, internal: bool = False, subnet6: str = "", **options: str) -> Network:
    net = IPv4Network(subnet)
    return Network(
        name,
        Driver.BRIDGE,
        net,
        net.network_address + 1,
        options=options,
        internal=internal,
        predefined=name == "bridge",
        bridge_name=br,
        subnet6=IPv6Network(subnet6) if subnet6 else None,
    )


DOCKER0 = bridge("bridge", "172.17.0.0/16", "docker0")
BRIDGE1 = bridge("bridge1", "192.0.2.0/24", "bridge1")
C1 = Published(BRIDGE1, IPv4Address("192.0.2.2"), Publish(8080, 80))

#: moby's case -> (networks in creation order, published ports, host knobs)
IPTABLES_CASES: dict[str, tuple[list[Network], list[Published], Host]] = {
    "new-daemon": ([DOCKER0], [], Host(forward_drop=False)),
    "usernet-portmap": ([DOCKER0, BRIDGE1], [C1], Host(forward_drop=False)),
    "usernet-portmap-noicc": (
        [DOCKER0, bridge("bridge1", "192.0.2.0/24", "bridge1", **ICC_OFF)],
        [
            Published(
                bridge("bridge1", "192.0.2.0/24", "bridge1", **ICC_OFF), IPv4Address("192.0.2.2"), Publish(8080, 80)
            )
        ],
        Host(forward_drop=False),
    ),
    "usernet-portmap-noproxy": ([DOCKER0, BRIDGE1], [C1], Host(forward_drop=False, userland_proxy=False)),
    "usernet-portmap-lo": (
        [DOCKER0, BRIDGE1],
        [Published(BRIDGE1, IPv4Address("192.0.2.2"), Publish(8080, 80, host_ip=IPv4Address("127.0.0.1")))],
        Host(forward_drop=False),
    ),
    "usernet-internal": (
        [
            DOCKER0,
            bridge("bridgeICC", "192.0.2.0/24", "bridgeICC", internal=True),
            bridge("bridgeNoICC", "198.51.100.0/24", "bridgeNoICC", internal=True, **ICC_OFF),
        ],
        [],
        Host(forward_drop=False),
    ),
}

Tables = dict[str, dict[str, list[str]]]  # table -> chain -> its rules in order ("-P" policy first)


def parse(lines: Sequence[str]) -> Tables:
    """`iptables -S` blocks or iptables-save text as table -> chain -> [policy, rules...]."""
    out: Tables = {}
    table = ""
    for line in lines:
        if line.startswith("*"):
            table = line[1:]
            out.setdefault(table, {})
        elif line.startswith("-P "):
            _, chain, policy = line.split()
            out[table].setdefault(chain, []).insert(0, f"policy {policy}")
        elif line.startswith(":"):
            chain, policy = line[1:].split()[:2]
            out[table].setdefault(chain, [])
            if policy != "-":
                out[table][chain].insert(0, f"policy {policy}")
        elif line.startswith("-N "):
            out[table].setdefault(line.split()[1], [])
        elif line.startswith("-A "):
            out[table].setdefault(line.split()[1], []).append(line)
    return out


@pytest.mark.parametrize("profile", ["28", "29"])
@pytest.mark.parametrize("case", sorted(IPTABLES_CASES))
def test_iptables_profile_writes_what_moby_documents(profile: str, case: str):
    networks, published, host = IPTABLES_CASES[case]
    expected = parse((MOBY / "iptables" / profile / f"{case}.rules").read_text().splitlines())
    got = parse(engines.get(profile).render(networks, published, host).iptables.splitlines())
    assert expected, "the reference file has no rules"
    for table, chains in expected.items():
        assert got.get(table) == chains, f"{profile} {case}: table {table}"


def test_28_and_29_differ_where_moby_says_they_do():
    r28 = engines.get("28").render([DOCKER0, BRIDGE1], [C1], Host()).iptables
    r29 = engines.get("29").render([DOCKER0, BRIDGE1], [C1], Host()).iptables
    assert "DOCKER-ISOLATION-STAGE-1" in r28 and "DOCKER-ISOLATION-STAGE-1" not in r29
    assert "-A DOCKER -i bridge1 -j RETURN" in r28 and "-j RETURN" not in r29


@pytest.mark.parametrize("profile", ["28", "29"])
def test_the_forward_policy_is_the_hosts_knob(profile: str):
    drop = engines.get(profile).render([DOCKER0], [], Host(forward_drop=True)).iptables
    accept = engines.get(profile).render([DOCKER0], [], Host(forward_drop=False)).iptables
    assert ":FORWARD DROP [0:0]" in drop.splitlines() and ":FORWARD ACCEPT [0:0]" in accept.splitlines()


# -- 29-nftables -------------------------------------------------------------------------------------------

DUMMY = "br-dummy"


def nft_case(name: str) -> tuple[list[Network], list[Published], Host]:
    """The nftabler test's network: br-dummy 192.168.0.0/24 and fd49:efd7:54aa::/64, endpoint 192.168.0.2 and
    fd49:efd7:54aa::1, 8080 -> 80/tcp (bindlh: on 127.0.0.1 and on ::1)."""
    if name.startswith("cleaned"):
        return [], [], Host(ipv6=True)
    params = dict(kv.split("=") for kv in name.split(","))
    options = {}
    if params["icc"] == "false":
        options.update(ICC_OFF)
    if params.get("masq") == "false":
        options.update(MASQ_OFF)
    internal = params["internal"] == "true"
    net = bridge("dummy", "192.168.0.0/24", DUMMY, internal=internal, subnet6="fd49:efd7:54aa::/64", **options)
    address, address6 = IPv4Address("192.168.0.2"), IPv6Address("fd49:efd7:54aa::1")
    if params.get("bindlh") == "true":
        ports = [
            Published(net, address, Publish(8080, 80, host_ip=IPv4Address("127.0.0.1")), address6),
            Published(net, address, Publish(8080, 80, host_ip=IPv6Address("::1")), address6),
        ]
    else:
        ports = [Published(net, address, Publish(8080, 80), address6)]
    return [net], ports, Host(userland_proxy=params["hairpin"] == "false", ipv6=True)


def normalised(text: str) -> list[str]:
    """Counters without values; the nat output hook's priority as moby's test spells it (it rewrites nft's
    `priority -100` to `priority dstnat` before comparing)."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    lines = [line.replace("counter packets 0 bytes 0", "counter") for line in lines]
    return [
        line.replace("type nat hook output priority -100", "type nat hook output priority dstnat") for line in lines
    ]


NFT_CASES = sorted(p.stem for p in (MOBY / "nftables").glob("*.nft"))


@pytest.mark.parametrize("case", NFT_CASES)
def test_nftables_profile_writes_moby_s_golden_table(case: str):
    networks, published, host = nft_case(case)
    got = engines.get("29-nftables").render(networks, published, host)
    assert got.iptables == "" == got.ip6tables
    golden = (MOBY / "nftables" / f"{case}.nft").read_text() + (MOBY / "nftables6" / f"{case}.nft").read_text()
    assert normalised(got.nftables) == normalised(golden)


def test_nftables_profile_writes_no_ipv6_table_where_no_network_has_ipv6():
    networks, published, _ = nft_case("hairpin=false,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false")
    got = engines.get("29-nftables").render(networks, published, Host()).nftables
    assert "table ip docker-bridges" in got and "ip6" not in got


def test_every_reference_file_is_used():
    assert len(NFT_CASES) == 12
    assert sorted(p.stem for p in (MOBY / "nftables6").glob("*.nft")) == NFT_CASES
    assert sorted(p.stem for p in (MOBY / "iptables" / "28").glob("*.rules")) == sorted(IPTABLES_CASES)
