"""Captured Ethernet frames taken apart into their layers, for the facts a capture proves (netlab/evidence/capture.py).

Only the protocols the facts read are taken apart, with the fields they read: Ethernet, 802.1Q/802.1ad tags, ARP
(Ethernet and IPv4), IPv4, IPv6 (with its hop-by-hop, routing and destination-option headers), neighbour
solicitations and advertisements with their link-layer address options, UDP, and VXLAN (UDP port 4789) with the
frame it carries, whose layers follow the outer ones. A layer is present only when its header is complete; a frame
cut short ends at the last complete one.

The layers and fields are those scapy's dissection gives for these frames (tests/unit/test_frames.py takes the same
frames apart with scapy and compares): the order scapy stacks them in, so that "the first IPv6 layer" means the
same, and the same text for addresses. Doing it here spares every run scapy's import (about 0.2 s of CPU, more than
the whole of a small scenario's probing); scapy still writes the pcaps `--pcap` asks for.
"""

from __future__ import annotations

import socket
from typing import Any

Layer = dict[
    str, Any
]  # {"kind": "ether" | "dot1q" | "dot1ad" | "arp" | "ip" | "ipv6" | "nd_ns" | "nd_na" | "udp" | "vxlan", ...}

VXLAN_PORT = 4789
_VLAN_TPIDS = (0x8100, 0x88A8)
_IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options: (next header, length in 8 octets - 1)
_MAX_DEPTH = 2  # a frame inside VXLAN inside VXLAN is taken apart no further


def layers(data: bytes) -> list[Layer]:
    """The frame's layers, outermost first."""
    out: list[Layer] = []
    _ether(data, out, 0)
    return out


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _u16(b: bytes, at: int) -> int:
    return int.from_bytes(b[at : at + 2], "big")


def _ether(data: bytes, out: list[Layer], depth: int) -> None:
    if len(data) < 14:
        return
    out.append({"kind": "ether", "dst": _mac(data[0:6]), "src": _mac(data[6:12])})
    etype, pos = _u16(data, 12), 14
    while etype in _VLAN_TPIDS and len(data) >= pos + 4:  # an 802.1ad (service) tag is not an 802.1Q one
        out.append({"kind": "dot1q" if etype == 0x8100 else "dot1ad", "vlan": _u16(data, pos) & 0x0FFF})
        etype, pos = _u16(data, pos + 2), pos + 4
    payload = data[pos:]
    if etype == 0x0806:
        _arp(payload, out)
    elif etype == 0x0800:
        _ipv4(payload, out, depth)
    elif etype == 0x86DD:
        _ipv6(payload, out)


def _arp(b: bytes, out: list[Layer]) -> None:
    if len(b) < 28 or b[4] != 6 or b[5] != 4:  # Ethernet and IPv4 addresses only
        return
    out.append(
        {
            "kind": "arp",
            "op": _u16(b, 6),
            "hwsrc": _mac(b[8:14]),
            "psrc": socket.inet_ntop(socket.AF_INET, b[14:18]),
            "pdst": socket.inet_ntop(socket.AF_INET, b[24:28]),
        }
    )


def _ipv4(b: bytes, out: list[Layer], depth: int) -> None:
    if len(b) < 20 or b[0] >> 4 != 4 or (b[0] & 0x0F) < 5:
        return
    ihl = (b[0] & 0x0F) * 4
    src, dst = socket.inet_ntop(socket.AF_INET, b[12:16]), socket.inet_ntop(socket.AF_INET, b[16:20])
    out.append({"kind": "ip", "src": src, "dst": dst, "proto": b[9]})
    if _u16(b, 6) & 0x1FFF or b[9] != 17 or len(b) < ihl + 8:  # a later fragment carries no UDP header
        return
    udp = b[ihl:]
    out.append({"kind": "udp", "sport": _u16(udp, 0), "dport": _u16(udp, 2)})
    if _u16(udp, 2) == VXLAN_PORT and len(udp) >= 16:
        out.append({"kind": "vxlan", "vni": int.from_bytes(udp[12:15], "big")})
        if depth < _MAX_DEPTH:
            _ether(udp[16:], out, depth + 1)


def _ipv6(b: bytes, out: list[Layer]) -> None:
    if len(b) < 40 or b[0] >> 4 != 6:
        return
    out.append(
        {
            "kind": "ipv6",
            "src": socket.inet_ntop(socket.AF_INET6, b[8:24]),
            "dst": socket.inet_ntop(socket.AF_INET6, b[24:40]),
        }
    )
    nh, rest = b[6], b[40:]
    while nh in _IPV6_EXTENSIONS and len(rest) >= 8:
        nh, rest = rest[0], rest[(rest[1] + 1) * 8 :]
    if nh != 58 or len(rest) < 24 or rest[0] not in (135, 136):  # ICMPv6 neighbour solicitation, advertisement
        return
    out.append({"kind": "nd_ns" if rest[0] == 135 else "nd_na", "tgt": socket.inet_ntop(socket.AF_INET6, rest[8:24])})
    options = rest[24:]
    while len(options) >= 8 and options[1]:
        size = options[1] * 8
        if options[0] in (1, 2) and len(options) >= 8:
            kind = "nd_opt_src_lladdr" if options[0] == 1 else "nd_opt_dst_lladdr"
            out.append({"kind": kind, "lladdr": _mac(options[2:8])})
        options = options[size:]


def first(found: list[Layer], kind: str, after: int = 0) -> Layer | None:
    """The first layer of `kind` (from position `after` on), as scapy's `frame[Kind]` finds it."""
    return next((layer for layer in found[after:] if layer["kind"] == kind), None)
