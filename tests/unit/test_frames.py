"""netlab/evidence/frames.py takes frames apart as scapy does: the facts a capture proves, computed from the same
frames by netlab (capture.facts) and by scapy (tests/scapyref.py, the decoder netlab used before), are the same.
Frames are built with scapy, by hand and at random (hypothesis); tests/netns/test_evidence.py compares on real
captures. A frame cut short anywhere never makes the decoder fail."""

from __future__ import annotations

from typing import Any

import pytest
import scapyref
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrHopByHop,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN

from netlab.evidence import capture, frames

PEERS = {"198.18.0.254", "fd6e:6574:6c00::fe"}
OWNER = {"198.18.0.2": "c1", "198.18.0.254": "ext"}


def ours(raw: list[bytes], role: str) -> dict[str, Any]:
    return capture.facts([(0, 0, data) for data in raw], role, OWNER, PEERS)


def theirs(raw: list[bytes], role: str) -> dict[str, Any]:
    return scapyref.facts(raw, role, OWNER, PEERS)


#: every Ether() names its destination: left out, scapy would look it up, and ask the machine's network by ARP
MAC1, MAC2, BROADCAST = "02:42:c6:12:00:02", "5a:04:89:76:cf:5a", "ff:ff:ff:ff:ff:ff"
SAMPLES = {
    "arp request": Ether(src=MAC1, dst="ff:ff:ff:ff:ff:ff")
    / ARP(op=1, hwsrc=MAC1, psrc="198.18.0.2", pdst="198.18.0.3"),
    "arp reply": Ether(src=MAC2, dst=MAC1) / ARP(op=2, hwsrc=MAC2, psrc="198.18.0.3", pdst="198.18.0.2"),
    "arp probe": Ether(src=MAC1, dst=BROADCAST) / ARP(op=1, hwsrc=MAC1, psrc="0.0.0.0", pdst="198.18.0.2"),
    "tagged arp": Ether(src=MAC1, dst=BROADCAST)
    / Dot1Q(vlan=20)
    / ARP(op=1, hwsrc=MAC1, psrc="198.18.20.2", pdst="198.18.20.1"),
    "double tag": Ether(src=MAC1, dst=MAC2, type=0x88A8) / Dot1Q(vlan=100) / Dot1Q(vlan=20) / IP(src="198.18.0.2"),
    "tagged ipv6": Ether(src=MAC2, dst=BROADCAST)
    / Dot1Q(vlan=30)
    / IPv6(src="fd6e:6574:6c00::2", dst="fd6e:6574:6c00::1"),
    "masqueraded": Ether(src=MAC1, dst=MAC2) / IP(src="198.18.0.1", dst="198.18.0.254") / ICMP(),
    "from a peer": Ether(src=MAC1, dst=MAC2) / IP(src="198.18.0.254", dst="198.18.0.2") / ICMP(),
    "udp": Ether(src=MAC1, dst=MAC2) / IP(src="198.18.0.2", dst="198.18.0.254") / UDP(sport=40000, dport=53),
    "fragment": Ether(src=MAC1, dst=MAC2)
    / IP(src="198.18.0.2", dst="198.18.0.254", proto=17, frag=100)
    / (b"\x12\xb5" * 8),
    "ns": Ether(src=MAC1, dst=BROADCAST)
    / IPv6(src="fd6e:6574:6c00::2", dst="ff02::1:ff00:3")
    / ICMPv6ND_NS(tgt="fd6e:6574:6c00::3")
    / ICMPv6NDOptSrcLLAddr(lladdr=MAC1),
    "ns without option": Ether(src=MAC1, dst=MAC2)
    / IPv6(src="fd6e:6574:6c00::2")
    / ICMPv6ND_NS(tgt="fd6e:6574:6c00::4"),
    "dad": Ether(src=MAC1, dst=BROADCAST) / IPv6(src="::", dst="ff02::1:ff00:2") / ICMPv6ND_NS(tgt="fd6e:6574:6c00::2"),
    "na": Ether(src=MAC2, dst=BROADCAST)
    / IPv6(src="fd6e:6574:6c00::3", dst="fd6e:6574:6c00::2")
    / ICMPv6ND_NA(tgt="fd6e:6574:6c00::3")
    / ICMPv6NDOptDstLLAddr(lladdr=MAC2),
    "na with the other option": Ether(src=MAC1, dst=MAC2)
    / IPv6(src="fd6e:6574:6c00::5")
    / ICMPv6ND_NA(tgt="fd6e:6574:6c00::5")
    / ICMPv6NDOptSrcLLAddr(lladdr=MAC2),
    "ns after hop-by-hop": Ether(src=MAC1, dst=MAC2)
    / IPv6(src="fd6e:6574:6c00::6")
    / IPv6ExtHdrHopByHop()
    / ICMPv6ND_NS(tgt="fd6e::7"),
    "ipv6 to a peer": Ether(src=MAC1, dst=MAC2)
    / IPv6(src="fd6e:6574:6c00::1", dst="fd6e:6574:6c00::fe")
    / ICMPv6EchoRequest(),
    "vxlan": Ether(src=MAC1, dst=MAC2)
    / IP(src="198.18.0.10", dst="198.18.0.11")
    / UDP(sport=51000, dport=4789)
    / VXLAN(vni=4097)
    / Ether(src=MAC1, dst=MAC2)
    / IP(src="10.0.1.2", dst="10.0.1.3")
    / ICMP(),
    "vxlan with arp": Ether(src=MAC1, dst=MAC2)
    / IP(src="198.18.0.10", dst="198.18.0.11")
    / UDP(dport=4789)
    / VXLAN(vni=4098)
    / Ether(src=MAC1, dst=BROADCAST)
    / ARP(psrc="10.0.1.2", pdst="10.0.1.3", hwsrc=MAC1),
    "vxlan with ipv6": Ether(src=MAC1, dst=MAC2)
    / IP(src="198.18.0.10", dst="198.18.0.11")
    / UDP(dport=4789)
    / VXLAN(vni=9)
    / Ether(src=MAC1, dst=MAC2)
    / IPv6(src="fd00::2", dst="fd00::3"),
    "vxlan, tagged inside": Ether(src=MAC1, dst=MAC2)
    / IP(src="198.18.0.10", dst="198.18.0.11")
    / UDP(dport=4789)
    / VXLAN(vni=9)
    / Ether(src=MAC1, dst=MAC2)
    / Dot1Q(vlan=5)
    / IP(src="10.0.5.2", dst="10.0.5.3"),
    "not vxlan": Ether(src=MAC1, dst=MAC2) / IP(src="198.18.0.10", dst="198.18.0.11") / UDP(dport=4790) / (b"\0" * 30),
    "other ethertype": Ether(src=MAC1, dst=MAC2, type=0x88CC) / (b"\0" * 40),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("role", ["lan", "bridge"])
def test_each_kind_of_frame_gives_scapy_s_facts(name: str, role: str) -> None:
    raw = [bytes(SAMPLES[name])]
    assert ours(raw, role) == theirs(raw, role)


def test_all_of_them_at_once_give_scapy_s_facts() -> None:
    raw = [bytes(f) for f in SAMPLES.values()] * 2
    assert ours(raw, "lan") == theirs(raw, "lan")
    assert ours(raw, "lan")["vxlan"]["198.18.0.10 -> 198.18.0.11 VNI 4097 carrying 10.0.1.2 -> 10.0.1.3"] == 2


def test_a_frame_cut_short_anywhere_ends_at_its_last_complete_layer() -> None:
    for frame in SAMPLES.values():
        data = bytes(frame)
        for n in range(len(data) + 1):
            found = frames.layers(data[:n])
            assert [layer["kind"] for layer in found] == [layer["kind"] for layer in frames.layers(data)][: len(found)]
            capture.facts([(0, 0, data[:n])], "lan", OWNER, PEERS)


octets = st.integers(min_value=0, max_value=255)
ipv4 = st.tuples(octets, octets, octets, octets).map(lambda t: ".".join(map(str, t)))
ipv6 = st.binary(min_size=16, max_size=16).map(lambda b: __import__("ipaddress").IPv6Address(b).compressed)
mac = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))


@st.composite
def frame(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["arp", "ip", "ns", "na", "vxlan"]))
    outer = Ether(src=draw(mac), dst=BROADCAST)
    if draw(st.booleans()):
        outer = outer / Dot1Q(vlan=draw(st.integers(0, 4095)))
    if kind == "arp":
        body = ARP(op=draw(st.integers(1, 2)), hwsrc=draw(mac), psrc=draw(ipv4), pdst=draw(ipv4))
    elif kind == "ip":
        body = IP(
            src=draw(st.sampled_from(["198.18.0.254", "198.18.0.2"]) | ipv4), dst=draw(st.just("198.18.0.254") | ipv4)
        )
    elif kind == "ns":
        body = (
            IPv6(src=draw(st.just("::") | ipv6)) / ICMPv6ND_NS(tgt=draw(ipv6)) / ICMPv6NDOptSrcLLAddr(lladdr=draw(mac))
        )
    elif kind == "na":
        body = IPv6(src=draw(ipv6)) / ICMPv6ND_NA(tgt=draw(ipv6)) / ICMPv6NDOptDstLLAddr(lladdr=draw(mac))
    else:
        inner = Ether(src=MAC1, dst=MAC2) / IP(src=draw(ipv4), dst=draw(ipv4))
        body = IP(src=draw(ipv4), dst=draw(ipv4)) / UDP(dport=4789) / VXLAN(vni=draw(st.integers(0, 2**24 - 1))) / inner
    return bytes(outer / body)


@settings(max_examples=300, deadline=None)
@given(st.lists(frame(), min_size=1, max_size=8), st.sampled_from(["lan", "bridge"]))
def test_random_frames_give_scapy_s_facts(raw: list[bytes], role: str) -> None:
    assert ours(raw, role) == theirs(raw, role)
