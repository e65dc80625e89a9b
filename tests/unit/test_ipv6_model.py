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
        ({"driver": "macvlan", "ipv6": True}, "needs its parent lan 'lan' dual-stack too"),
        (
            {
                "driver": "ipvlan",
                "ipv6": True,
                "subnet": ["198.18.9.0/24", "198.18.10.0/24"],
                "subnet6": "fd6e:6574:6c00:9::/96",
            },
            "cannot mirror 2 IPv4 subnets",
        ),
        (
            {"driver": "overlay", "ipv6": True},
            "ipv6 on an overlay network is not supported yet: Docker.s swarm does not support it.*duplicates across "
            "nodes",
        ),
    ],
)
def test_bad_ipv6_declarations_are_refused(kw: dict[str, object], says: str) -> None:
    s = Scenario("t")
    if kw.get("driver") in ("macvlan", "ipvlan"):
        kw = {**kw, "parent": s.lan("lan", ipv6=kw.get("driver") == "ipvlan")}
    if kw.get("driver") == "overlay":
        s.lan("lan")
    s.network("n", **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidScenario, match=says):
        s.build()


def test_a_container_given_an_ipv6_address_keeps_it_everywhere_netlab_uses_it() -> None:
    from netlab import narrate
    from netlab.backends.fake import FakeBackend
    from netlab.model import dockerrules
    from netlab.runner import run_topology

    s = Scenario("t")
    n = s.network("n", subnet6="fd6e:6574:6c00:40::/64")
    web = s.container("web", n, ip6="fd6e:6574:6c00:40::80")
    app = s.container("app", n)
    s.expect(app, web, "icmp6", reachable=True)
    t = s.build()
    att = t.container("web").attachments[0]
    assert att.address6 == IPv6Address("fd6e:6574:6c00:40::80") == t.network("n").v6_for(att)
    run = " ".join(" ".join(step.docker) for step in narrate.deploy_steps(t))
    assert "--ip6 fd6e:6574:6c00:40::80" in run  # what Docker is told
    zone = dockerrules.embedded_zone(t, t.container("app"), t.containers)
    assert zone["web" + dockerrules.AAAA_KEY] == "fd6e:6574:6c00:40::80"  # what its embedded DNS answers
    r = run_topology(t, FakeBackend())
    assert r.endpoints["web"].addresses[0].address6 == IPv6Address("fd6e:6574:6c00:40::80")
    to_web = [o.address for o in r.observations if str(o.probe) == "icmp6" and (o.src, o.dst) == ("app", "web")]
    assert to_web == [IPv6Address("fd6e:6574:6c00:40::80")]


@pytest.mark.parametrize(
    ("ip6", "says"),
    [
        ("fd6e:6574:6c00:41::5", "is not a host address of 'n'"),
        ("fd6e:6574:6c00:40::1", "is the network's IPv6 gateway"),
        ("198.18.40.5", "is not an IPv6 address"),
        ("nonsense", "invalid address"),
        ("fd6e:6574:6c00:40::3", r"taken already, by container 'a'"),  # a's own: its IPv4 host part
        ({"other": "fd6e:6574:6c00:40::9"}, "not attached to that network"),
    ],
)
def test_bad_fixed_ipv6_addresses_are_refused(ip6: object, says: str) -> None:
    s = Scenario("t")
    n = s.network("n", subnet="198.18.40.0/24", subnet6="fd6e:6574:6c00:40::/64")
    s.network("other")
    s.container("a", n, ip="198.18.40.3")
    s.container("b", n, ip6=ip6)  # type: ignore[arg-type]
    with pytest.raises(InvalidScenario, match=says):
        s.build()


def test_the_ipv4_address_that_goes_with_a_fixed_ipv6_one_is_never_handed_out() -> None:
    s = Scenario("t")
    n = s.network("front", subnet="198.18.5.0/24", ipv6=True)
    s.container("a", n, ip6="fd6e:6574:6c00:5::3")
    s.container("c", n)
    b = s.container("b", s.network("other"))
    with s.stage("join") as st:
        st.connect(b, n)
    t = s.build()
    sixes = [t.network("front").v6_for(a) for c in t.containers_at(1) for a in c.attachments if a.network == "front"]
    assert len(sixes) == len(set(sixes)) == 3 and IPv6Address("fd6e:6574:6c00:5::3") in sixes


def test_a_fixed_ipv6_address_needs_a_dual_stack_network() -> None:
    s = Scenario("t")
    s.container("b", s.network("n"), ip6="fd6e:6574:6c00:40::9")
    with pytest.raises(InvalidScenario, match="need a dual-stack network"):
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


def test_a_dual_stack_lan_numbers_its_uplinks_and_peers_and_routes_ipv6_too() -> None:
    s = Scenario("t")
    lan = s.lan("lan0", ipv6=True)
    ext = s.peer("ext", lan)
    front = s.network("front", ipv6=True)
    plain = s.network("plain")
    with s.stage("route") as st:
        st.route(ext, front, via="host")
        st.route(ext, plain, via="host")
    t = s.build()
    assert t.dual_stack and t.lan("lan0").subnet6 == subnet6_for(t.lan("lan0").subnet)
    (peer,) = t.peers
    uplink = t.uplink("host", "lan0")
    assert uplink is not None
    assert t.lan("lan0").v6_of(peer.address) == t.lan("lan0").subnet6.network_address + int(peer.address) % 256  # type: ignore[union-attr]
    to_front, to_plain = t.stages[1].actions
    assert to_front.subnet6 == t.network("front").subnet6  # type: ignore[union-attr]
    assert to_front.via6 == t.lan("lan0").v6_of(uplink.address)  # type: ignore[union-attr]
    assert to_plain.subnet6 is None and to_plain.via6 is None  # type: ignore[union-attr]


def test_an_ipv4_only_lan_routes_no_ipv6_and_lans_share_no_v6_subnet_with_networks() -> None:
    s = Scenario("t")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    front = s.network("front", ipv6=True)
    with s.stage("route") as st:
        st.route(ext, front, via="host")
    t = s.build()
    assert t.lan("lan0").subnet6 is None and t.stages[1].actions[0].subnet6 is None  # type: ignore[union-attr]
    s = Scenario("t")
    s.lan("lan0", subnet6="fd6e:6574:6c00:99::/64")
    s.network("n", subnet6="fd6e:6574:6c00:99::/64")
    with pytest.raises(InvalidScenario, match="overlaps fd6e:6574:6c00:99::/64 of another network or lan"):
        s.build()


def test_neighbour_discovery_on_a_bridge_is_who_asked_for_whom_and_its_macs() -> None:
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.layers.l2 import Ether

    from netlab.evidence import capture

    a, b = "fd6e:6574:6c00:2::2", "fd6e:6574:6c00:2::3"
    ns = Ether(src="02:42:00:00:00:02") / IPv6(src=a, dst="ff02::1:ff00:3") / ICMPv6ND_NS(tgt=b)
    ns /= ICMPv6NDOptSrcLLAddr(lladdr="02:42:00:00:00:02")
    na = (
        Ether(src="02:42:00:00:00:03")
        / IPv6(src=b, dst=a)
        / ICMPv6ND_NA(tgt=b)
        / ICMPv6NDOptDstLLAddr(lladdr="02:42:00:00:00:03")
    )
    dad = Ether() / IPv6(src="::", dst="ff02::1:ff00:9") / ICMPv6ND_NS(tgt="fe80::9")
    frames = [(0, 0, bytes(p)) for p in (ns, na, dad)]
    facts = capture.facts(frames, "bridge", {a: "web", b: "app"}, set())
    assert facts["ndp"] == {f"who-has {b} tell {a}": 1}  # duplicate address detection (from ::) left out
    assert facts["macs"] == {f"{a} (web)": "02:42:00:00:00:02", f"{b} (app)": "02:42:00:00:00:03"}


def test_the_bridge_filter_keeps_arp_and_neighbour_discovery_only() -> None:
    from netlab.evidence.capture import _ARP_ONLY

    def keeps(frame: bytes) -> bool:
        """Run the classic BPF program (the few opcodes it uses) over a frame."""
        pc, acc = 0, 0
        while True:
            code, jt, jf, k = _ARP_ONLY[pc]
            if code == 0x06:
                return k > 0
            if code == 0x28:
                acc = int.from_bytes(frame[k : k + 2], "big")
            elif code == 0x30:
                acc = frame[k]
            else:
                ok = {0x15: acc == k, 0x35: acc >= k, 0x25: acc > k}[code]
                pc += jt if ok else jf
            pc += 1

    from scapy.layers.inet import ICMP, IP
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NS, IPv6
    from scapy.layers.l2 import ARP, Ether

    assert keeps(bytes(Ether() / ARP()))
    assert keeps(bytes(Ether() / IPv6() / ICMPv6ND_NS(tgt="fd6e:6574:6c00:2::3")))
    assert not keeps(bytes(Ether() / IPv6() / ICMPv6EchoRequest()))
    assert not keeps(bytes(Ether() / IP() / ICMP()))


def test_a_dual_stack_macvlan_network_lives_on_its_lan_s_ipv6_subnet_too() -> None:
    s = Scenario("t")
    lan = s.lan("lan0", ipv6=True)
    mv = s.network("mv", driver="macvlan", parent=lan, ipv6=True)
    s.container("c1", mv)
    t = s.build()
    net = t.network("mv")
    assert net.subnet6 == t.lan("lan0").subnet6 and net.gateway6 == net.subnet6.network_address + 1  # type: ignore[union-attr,operator]


def test_an_expected_matrix_may_hold_an_ipv6_table() -> None:
    s = Scenario("t")
    n = s.network("n", ipv6=True)
    s.container("a", n)
    s.container("b", n)
    s.expect_matrix("   a b\na  - .\nb  X -\nprobe: icmp6\n   a b\na  - X\nb  . -\n")
    got = {(str(e.probe), e.src, e.dst): e.reachable for e in s.build().stages[0].expectations}
    assert got == {
        ("icmp", "a", "b"): True,
        ("icmp", "b", "a"): False,
        ("icmp6", "a", "b"): False,
        ("icmp6", "b", "a"): True,
    }


def test_an_ipvlan_l3_network_of_two_subnets_mirrors_both_into_its_one_ipv6_subnet() -> None:
    s = Scenario("t")
    lan = s.lan("lan", ipv6=True)
    l3 = s.network(
        "l3",
        driver="ipvlan",
        parent=lan,
        subnet=["198.18.9.0/24", "198.18.10.0/24"],
        options={"ipvlan_mode": "l3"},
        ipv6=True,
    )
    s.container("a", l3, ip="198.18.9.10")
    s.container("b", l3, ip="198.18.10.10")
    t = s.build()
    net = t.network("l3")
    assert net.subnet6 is not None and net.subnet6 != t.lan("lan").subnet6  # its own: L3 is routed, not on the lan
    a, b = (net.v6_of(t.container(n).attachments[0].address) for n in ("a", "b"))
    assert a == net.subnet6.network_address + 10
    assert b == net.subnet6.network_address + (1 << 32) + 10
