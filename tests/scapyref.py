"""The facts of captured frames as scapy's dissection gives them: the reference netlab's own decoder
(netlab/evidence/frames.py, through capture.facts) is compared with, on built frames (tests/unit/test_frames.py) and
on a real run's pcaps (tests/netns/test_evidence.py). This is what capture.facts computed with scapy before netlab
took frames apart itself; the rendering (names, order) is capture.facts' own."""

from __future__ import annotations

from collections import Counter
from typing import Any

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN

from netlab.evidence import capture


def facts(raw: list[bytes], role: str, owner: dict[str, str], peers: set[str]) -> dict[str, Any]:
    sources: Counter[str] = Counter()
    macs: dict[str, str] = {}
    arp: Counter[str] = Counter()
    ndp: Counter[str] = Counter()
    vxlan: Counter[str] = Counter()
    vlans: Counter[tuple[int, str]] = Counter()
    for data in raw:
        frame = Ether(data)
        if Dot1Q in frame:
            sender = frame[ARP].psrc if ARP in frame else frame[IP].src if IP in frame else frame[Ether].src
            vlans[(int(frame[Dot1Q].vlan), str(sender))] += 1
        if ARP in frame:
            a = frame[ARP]
            if a.psrc and a.psrc != "0.0.0.0":
                macs.setdefault(a.psrc, a.hwsrc)
            if a.op == 1:
                arp[f"who-has {a.pdst} tell {a.psrc}"] += 1
            continue
        if IPv6 in frame:
            six = frame[IPv6]
            if ICMPv6ND_NS in frame:
                if six.src != "::":
                    if ICMPv6NDOptSrcLLAddr in frame:
                        macs.setdefault(six.src, frame[ICMPv6NDOptSrcLLAddr].lladdr)
                    ndp[f"who-has {frame[ICMPv6ND_NS].tgt} tell {six.src}"] += 1
            elif ICMPv6ND_NA in frame and ICMPv6NDOptDstLLAddr in frame:
                macs.setdefault(frame[ICMPv6ND_NA].tgt, frame[ICMPv6NDOptDstLLAddr].lladdr)
            elif role == "lan" and six.dst in peers and six.src not in peers:
                sources[six.src] += 1
            continue
        if IP not in frame:
            continue
        ip = frame[IP]
        if role == "lan" and ip.dst in peers and ip.src not in peers:
            sources[ip.src] += 1
        if UDP in frame and frame[UDP].dport == 4789 and VXLAN in frame:
            inner = frame[VXLAN].payload
            what = f"{ip.src} -> {ip.dst} VNI {frame[VXLAN].vni}"
            if IP in inner:
                what += f" carrying {inner[IP].src} -> {inner[IP].dst}"
            vxlan[what] += 1

    def named(address: str) -> str:
        return f"{address} ({owner[address]})" if address in owner else address

    out: dict[str, Any] = {}
    if sources:
        out["sources"] = {named(a): n for a, n in sorted(sources.items(), key=capture._by_address)}
    if macs:
        out["macs"] = {named(a): m for a, m in sorted(macs.items(), key=capture._by_address) if capture._is_unicast(a)}
    for key, counted in (("arp", arp), ("ndp", ndp), ("vxlan", vxlan)):
        if counted:
            out[key] = dict(sorted(counted.items()))
    if vlans:
        by_vid: dict[str, list[str]] = {}
        for (vid, sender), _ in sorted(vlans.items()):
            by_vid.setdefault(f"VID {vid}", []).append(named(sender))
        out["vlans"] = by_vid
    return out
