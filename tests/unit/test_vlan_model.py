"""VLANs of a trunk lan (Scenario.vlan, peer(vlan=), parent="<lan>.<vid>"): the model, the parent device Docker uses,
the segments the predictor and the endpoints see, and the 802.1Q tags the capture evidence decodes."""

from __future__ import annotations

import struct

import pytest

from netlab import Scenario
from netlab.evidence import capture
from netlab.kernel import features
from netlab.model.errors import InvalidScenario


def _trunk() -> Scenario:
    s = Scenario("v")
    lan = s.lan("lan0")
    s.peer("p50", lan, vlan=50)
    s.network("v50", driver="macvlan", parent="lan0.50")
    s.network("v60", driver="ipvlan", parent=s.vlan(lan, 60, subnet="198.18.60.0/24"))
    s.container("a", "v50")
    s.container("c", "v60")
    return s


def test_a_vlan_is_a_segment_of_its_own_on_its_trunk_s_wire() -> None:
    t = _trunk().build()
    v50, v60 = t.lan("lan0.50"), t.lan("lan0.60")
    assert (v50.trunk, v50.vid, v60.trunk, v60.vid) == ("lan0", 50, "lan0", 60)
    assert [lan.name for lan in t.wires()] == ["lan0"]
    assert [u.lan for u in t.uplinks] == ["lan0"]  # no address of the node's on a VLAN
    assert t.peers[0].lan == "lan0.50" and t.peers[0].address in v50.subnet
    assert t.network("v50").subnet == v50.subnet and str(v60.subnet) == "198.18.60.0/24"
    assert t.parent_device("host", "v50") == "eth0.50" and t.parent_device("host", "v60") == "eth0.60"
    assert t.segment("v50", "host") == "lan:lan0.50"
    assert "vlan" in features.link_kinds_needed(t)


@pytest.mark.parametrize(("vid", "message"), [(0, "1-4094"), (4095, "1-4094"), (True, "1-4094")])
def test_a_vlan_id_is_1_to_4094(vid: object, message: str) -> None:
    s = Scenario("v")
    lan = s.lan("lan0")
    with pytest.raises(InvalidScenario, match=message):
        s.vlan(lan, vid)  # type: ignore[arg-type]


def test_a_shim_on_a_vlan_is_refused() -> None:
    s = _trunk()
    with s.stage("shim") as st:
        st.shim("host", "lan0.50")
    with pytest.raises(InvalidScenario, match="a shim on a VLAN is not supported yet"):
        s.build()


def test_the_capture_puts_back_the_tag_a_device_took_out_and_names_each_vlan_s_senders() -> None:
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Dot1Q, Ether

    plain = bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="198.18.1.2", dst="198.18.1.254") / ICMP()
    )
    aux = struct.pack("IIIHHHH", capture.TP_STATUS_VLAN_VALID, len(plain), len(plain), 0, 0, 50, 0)
    tagged = capture._with_vlan_tag(plain, aux)
    frame = Ether(tagged)
    assert Dot1Q in frame and frame[Dot1Q].vlan == 50 and frame[IP].src == "198.18.1.2"
    assert capture._with_vlan_tag(plain, struct.pack("IIIHHHH", 0, 0, 0, 0, 0, 0, 0)) == plain
    facts = capture.facts([(0, 0, tagged)], "lan", {"198.18.1.2": "a"}, set())
    assert facts["vlans"] == {"VID 50": ["198.18.1.2 (a)"]}


def test_a_router_has_a_leg_at_the_first_address_of_each_lan_and_routes_through_the_right_one() -> None:
    from netlab.model.topology import Forward, Route

    s = Scenario("r")
    lan = s.lan("lan0")
    s.peer("p50", lan, vlan=50)
    s.peer("p60", lan, vlan=60)
    r = s.router("r", "lan0.50", "lan0.60")
    with s.stage("routed") as st:
        st.forward(r)
        st.route("p50", "lan0.60", via=r)
    t = s.build()
    router = next(p for p in t.peers if p.name == "r")
    assert router.router and [(lan, str(a)) for lan, a in router.addresses] == [
        ("lan0.50", str(next(t.lan("lan0.50").subnet.hosts()))),
        ("lan0.60", str(next(t.lan("lan0.60").subnet.hosts()))),
    ]
    forward, route = t.stages[1].actions
    assert forward == Forward("r")
    assert isinstance(route, Route) and route.subnet == t.lan("lan0.60").subnet
    assert route.via == router.address  # its leg on p50's VLAN


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s: s.router("r", "lan0"), "two or more different lans"),
        (lambda s: s.router("r", "lan0", "nowhere"), "unknown lan 'nowhere'"),
        (lambda s: (s.peer("p", "lan0", address="198.18.0.1"), s.router("r", "lan0", "lan0.50")), "already taken"),
        (lambda s: (s.peer("p", "lan0"), _forward(s, "p")), "'p' is not a router"),
    ],
)
def test_what_a_router_cannot_be(build: object, message: str) -> None:
    s = Scenario("r")
    s.lan("lan0", subnet="198.18.0.0/24")
    with pytest.raises(InvalidScenario, match=message):
        build(s)  # type: ignore[operator]
        s.build()


def _forward(s: Scenario, name: str) -> None:
    with s.stage("x") as st:
        st.forward(name)
