"""IPv6 in the model (issue 19, item 3): probe specs, netlab's v6 pool, dual-stack networks and their addresses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest

from netlab import Scenario
from netlab.model import InvalidScenario, parse_probe
from netlab.model.addressing import POOL6, subnet6_for
from netlab.model.deployed import Address, Endpoint
from netlab.model.topology import EndpointKind, ProbeKind
from netlab.probes.matrix import pick_address


@pytest.mark.parametrize("spec", ["icmp6", "tcp6:80", "udp6:53", "dns6:web"])
def test_v6_probe_specs_read_back_as_written(spec: str) -> None:
    probe = parse_probe(spec)
    assert probe.v6 and probe.family == 6 and str(probe) == spec


def test_a_v6_probe_is_its_v4_kind_over_ipv6() -> None:
    assert parse_probe("tcp6:80").kind is ProbeKind.TCP and parse_probe("tcp6:80") != parse_probe("tcp:80")
    with pytest.raises(ValueError, match="'tcp6:PORT'"):
        parse_probe("sctp6:80")


def test_the_v6_pool_is_one_ula_48_and_each_v4_24_has_its_64() -> None:
    assert IPv6Network("fd6e:6574:6c00::/48") == POOL6 and POOL6.subnet_of(IPv6Network("fc00::/7"))
    a = subnet6_for(IPv4Network("198.18.1.0/24"))
    b = subnet6_for(IPv4Network("198.19.255.0/24"))
    assert a == IPv6Network("fd6e:6574:6c00:1::/64") and b == IPv6Network("fd6e:6574:6c00:1ff::/64")
    assert subnet6_for(IPv4Network("10.15.0.0/24")).subnet_of(POOL6)


def test_a_dual_stack_network_numbers_v6_as_v4() -> None:
    s = Scenario("t")
    n = s.network("n", ipv6=True)
    s.container("a", n)
    s.container("b", n, s.network("v4only"))
    t = s.build()
    net = t.network("n")
    assert net.ipv6 and net.subnet6 == subnet6_for(net.subnet)  # type: ignore[arg-type]
    assert net.gateway6 == net.subnet6.network_address + 1
    b = t.container("b")
    assert [t.network(x.network).v6_of(x.address) for x in b.attachments] == [
        net.subnet6.network_address + 3,
        None,
    ]
    assert t.dual_stack and not t.network("v4only").ipv6


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"subnet6": "2001:db8::/64"}, "outside netlab's IPv6 pool"),
        ({"subnet6": "198.18.9.0/24"}, "must be an IPv6 subnet"),
        ({"subnet6": "fd6e:6574:6c00:9::/121"}, "smaller than its IPv4 subnet"),
        ({"driver": "macvlan", "ipv6": True}, "not supported yet"),
    ],
)
def test_bad_ipv6_declarations_are_refused(kw: dict[str, object], says: str) -> None:
    s = Scenario("t")
    if kw.get("driver") == "macvlan":
        kw = {**kw, "parent": s.lan("lan")}
    s.network("n", **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidScenario, match=says):
        s.build()


def test_two_networks_cannot_share_a_v6_subnet() -> None:
    s = Scenario("t")
    s.network("a", subnet6="fd6e:6574:6c00:77::/64")
    s.network("b", subnet6="fd6e:6574:6c00:77::/64")
    with pytest.raises(InvalidScenario, match="overlaps"):
        s.build()


def test_a_v6_probe_goes_to_the_v6_address_on_a_shared_dual_stack_segment() -> None:
    v6 = IPv6Address("fd6e:6574:6c00:1::2")
    a = Endpoint("a", EndpointKind.CONTAINER, "host", None, [Address("n", "host/n", IPv4Address("198.18.1.2"), v6)])
    b = Endpoint("b", EndpointKind.CONTAINER, "host", None, [Address("n", "host/n", IPv4Address("198.18.1.3"), v6 + 1)])
    c = Endpoint("c", EndpointKind.CONTAINER, "host", None, [Address("m", "host/m", IPv4Address("198.18.2.2"))])
    assert pick_address(b, a, v6=True) == v6
    assert pick_address(c, a, v6=True) == v6  # no shared dual-stack segment: its first IPv6 address
    assert pick_address(a, c, v6=True) is None  # it has none
    assert pick_address(a, b) == IPv4Address("198.18.1.3")
