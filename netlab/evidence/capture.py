"""Packet captures taken while a stage is probed, and the facts decoded from them.

A capture point is an interface in a namespace netlab can enter: each lan's bridge (everything on the
simulated LAN, the underlay of overlay networks), and each node's Linux bridges (docker0, br-…). An
AF_PACKET socket is opened on each inside its namespace before the first probe and read by one thread
until after the last (the kernel stamps every packet on arrival). Without `--pcap`, bridge points keep
ARP and IPv6 neighbour discovery only (a classic BPF filter in the kernel): the full matrix of 100
containers crosses the node's bridge, and the facts need only who asked for whom there. With `--pcap DIR`
every point keeps everything and is written to DIR/<stage>-<point>.pcap (scapy's pcap writer, nanosecond stamps).

Facts (the frames taken apart by netlab/evidence/frames.py, as scapy would):
- `sources`: the source addresses of packets seen on a lan heading to its peers: a node's lan address
  where containers' traffic was masqueraded (NAT, NAT66), a container's own address where it was not;
- `macs`: address -> MAC as the segment learns it (ARP senders, requests and replies; IPv6 neighbour
  solicitations and advertisements): a macvlan child's own MAC, the parent's MAC for ipvlan L2 children
  (routed packets carry a router's MAC: not used);
- `arp`: who asked for whom (the broadcast domain: a container's ARP on the lan means it is on the lan);
- `ndp`: the same for IPv6, from neighbour solicitations (NDP, ICMPv6 135; duplicate address detection, from
  `::`, left out);
- `vxlan`: UDP 4789 on the underlay: outer addresses, VNI and the inner addresses it carried.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import select
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from types import TracebackType
from typing import Any

from netlab import nsthread
from netlab.evidence.frames import VXLAN_PORT, first, layers
from netlab.model.deployed import CapturePoint, Endpoint
from netlab.model.topology import EndpointKind

ETH_P_ALL = 0x0003
SOL_PACKET = 263  # linux/socket.h
PACKET_ADD_MEMBERSHIP = 1  # linux/if_packet.h
PACKET_MR_PROMISC = 1
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
MAX_DECODED = 300  # frames per point and stage turned into facts (all of them go to a pcap when asked)
SNAPLEN = 256  # enough for VXLAN's outer and inner headers
RCVBUF = 8 << 20
PACKET_AUXDATA = 8  # linux/if_packet.h: the tag a device took out of the frame comes as tpacket_auxdata
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
_STAMP_SPACE = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(20)
# classic BPF (linux/filter.h): ARP (ethertype 0x806), or IPv6 (0x86dd) carrying ICMPv6 (next header 58, at 20) of
# a neighbour-discovery type 133-137 (at 54): keep SNAPLEN; anything else: drop
_ARP_ONLY = [
    (0x28, 0, 0, 12),  # ldh [12]
    (0x15, 6, 0, 0x0806),  # jeq ARP -> keep
    (0x15, 0, 6, 0x86DD),  # jeq IPv6, else drop
    (0x30, 0, 0, 20),  # ldb [20]
    (0x15, 0, 4, 58),  # jeq ICMPv6, else drop
    (0x30, 0, 0, 54),  # ldb [54]
    (0x35, 0, 2, 133),  # jge 133, else drop
    (0x25, 1, 0, 137),  # jgt 137 -> drop
    (0x06, 0, 0, SNAPLEN),
    (0x06, 0, 0, 0),
]
_ANY = [(0x06, 0, 0, SNAPLEN)]
_NONE = [(0x06, 0, 0, 0)]


@dataclass(slots=True)
class Packets:
    point: CapturePoint
    frames: list[tuple[int, int, bytes]] = field(default_factory=list)  # sec, nsec, the first SNAPLEN bytes
    error: str = ""
    #: a node bridge keeps its first MAX_DECODED frames when no pcap is written, then lets the kernel
    #: drop the rest (a filter that keeps nothing): the stage saw more than `frames`
    truncated: bool = False


def _attach(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    raw = b"".join(struct.pack("HBBI", *ins) for ins in program)
    buf = ctypes.create_string_buffer(raw)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class Capture:
    """Context manager holding one AF_PACKET socket per point for the whole run; `start()` and `stop()`
    delimit what one stage saw. Sockets are opened once: closing a packet socket waits for an RCU
    grace period in the kernel (about 12 ms each), so they are closed together, in parallel, at exit."""

    def __init__(self, points: list[CapturePoint], everything: bool = False) -> None:
        self.points = points
        self.everything = everything
        self._current = {p.name: Packets(p) for p in points}
        self._recording = False
        self._lock = threading.Lock()
        self._socks: dict[int, tuple[socket.socket, str]] = {}
        self._errors: dict[str, str] = {}
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._read, name="netlab-capture", daemon=True)
        self._scratch = bytearray(SNAPLEN)

    def __enter__(self) -> Capture:
        for p in self.points:
            try:
                self._open(p)
            except OSError as e:
                self._errors[p.name] = f"cannot capture on {p.ifname}: {e}"
        self._thread.start()
        return self

    def _open(self, p: CapturePoint) -> None:
        # protocol 0: no packet hook until bind, so binding does not wait for the kernel to drop one
        with nsthread.entered(p.netns):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            index = socket.if_nametoindex(p.ifname)
        try:
            _attach(s, self._program(p))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            s.bind((p.ifname, ETH_P_ALL, 0, 0, b""))  # the interface name is resolved in the socket's namespace
            # a bridge device sees the frames it forwards between its ports only in promiscuous mode;
            # the membership holds it there while this socket is open (tcpdump does the same)
            if p.promisc:
                s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, struct.pack("iHH8s", index, PACKET_MR_PROMISC, 0, b""))
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        self._socks[s.fileno()] = (s, p.name)

    def _program(self, p: CapturePoint) -> list[tuple[int, int, int, int]]:
        return _ANY if self.everything or p.role != "bridge" else _ARP_ONLY

    def start(self) -> None:
        """Forget what arrived since the last stage (a stage's actions, ARP refreshes); record from now."""
        with self._lock:
            self._drain_all()
            for sock, name in self._socks.values():
                if self._current[name].truncated:
                    _attach(sock, self._program(self._current[name].point))
            self._drain_all()
            self._current = {p.name: Packets(p, error=self._errors.get(p.name, "")) for p in self.points}
            self._recording = True

    def stop(self) -> dict[str, Packets]:
        """Everything captured since `start()`, per point."""
        with self._lock:
            self._drain_all()
            self._recording = False
            got, self._current = self._current, {p.name: Packets(p) for p in self.points}
        return got

    def _read(self) -> None:
        poll = select.poll()
        poll.register(self._stop_r, select.POLLIN)
        for fd in self._socks:
            poll.register(fd, select.POLLIN)
        while True:
            events = poll.poll()
            if any(fd == self._stop_r for fd, _ in events):
                return
            with self._lock:
                for fd, _ in events:
                    self._drain(*self._socks[fd])

    def _drain_all(self) -> None:
        for sock, name in self._socks.values():
            self._drain(sock, name)

    def _drain(self, sock: socket.socket, name: str) -> None:
        into = self._current[name]
        capped = not self.everything and into.point.role == "bridge"
        while True:
            try:
                if capped and self._recording and len(into.frames) >= MAX_DECODED and not into.truncated:
                    _attach(sock, _NONE)  # enough for the facts: the kernel drops the rest, no copy to us
                    into.truncated = True
                if into.truncated:
                    sock.recv_into(self._scratch)  # what was queued before the filter changed
                    continue
                data, anc, _, _ = sock.recvmsg(SNAPLEN, _STAMP_SPACE)
            except BlockingIOError:
                return
            except OSError as e:
                into.error = str(e)
                return
            if not self._recording:
                continue
            sec = nsec = 0
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    sec, nsec = struct.unpack("qq", value[:16])
                elif level == SOL_PACKET and kind == PACKET_AUXDATA and len(value) >= 20:
                    data = _with_vlan_tag(data, value)
            into.frames.append((sec, nsec, data))

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        closers = [threading.Thread(target=s.close) for s, _ in self._socks.values()]
        for t in closers:
            t.start()
        for t in closers:
            t.join()
        self._socks.clear()
        os.close(self._stop_r)
        os.close(self._stop_w)


Frame = tuple[int, int, bytes]  # kernel stamp (seconds, nanoseconds) and the first SNAPLEN bytes


def _with_vlan_tag(data: bytes, aux: bytes) -> bytes:
    """The frame as it was on the wire: an 802.1Q tag a device took out into the packet's metadata (veths and
    bridges do) is put back after the MAC addresses, so the pcap and the decoding see the VLAN."""
    status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", aux[:20])
    if not status & TP_STATUS_VLAN_VALID or len(data) < 12:
        return data
    tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID and tpid else 0x8100
    return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]


def entries(stage: str, packets: dict[str, Packets]) -> list[dict[str, Any]]:
    """One evidence entry per point, still holding its raw frames (`finish` decodes and drops them)."""
    out = []
    for name, found in packets.items():
        p = found.point
        entry: dict[str, Any] = {
            "stage": stage,
            "point": name,
            "interface": p.ifname,
            "role": p.role,
            "node": p.node,
            "packets": len(found.frames),
            "pcap": None,
            "frames": found.frames,
        }
        if found.truncated:
            entry["truncated"] = True  # more frames crossed the point; its first ones were kept
        if found.error:
            entry["error"] = found.error
        out.append(entry)
    return out


def finish(found: list[dict[str, Any]], endpoints: dict[str, Endpoint], pcap: str | None) -> None:
    """Decode every entry's frames into facts (and write them to DIR/<stage>-<point>.pcap when asked),
    then drop the frames. Runs on the host, also for a run inside user-mode Linux, whose guest ships its frames
    back raw (scapy, which writes the pcaps, would take seconds to import there)."""
    holders: dict[str, list[tuple[str, str | None]]] = {}
    for ep in endpoints.values():
        for a in ep.addresses:
            for address in (a.address, a.address6):
                if address is not None:
                    holders.setdefault(str(address), []).append((ep.name, ep.node))
    peers = {
        str(address)
        for ep in endpoints.values()
        if ep.kind is EndpointKind.PEER
        for a in ep.addresses
        for address in (a.address, a.address6)
        if address is not None
    }
    for entry in found:
        frames: list[Frame] = entry.pop("frames", None) or []
        if pcap:
            entry["pcap"] = write_pcap(frames, os.path.join(pcap, f"{entry['stage']}-{entry['point']}.pcap"))
        # an address several nodes use (each node's docker_gwbridge gateway) names the point's own node's holder
        here = entry["node"]
        owner = {addr: next((n for n, node in names if node == here), names[0][0]) for addr, names in holders.items()}
        # a 100-container matrix leaves 10,000 ARP frames on the node's bridge: the first MAX_DECODED say who
        # asked for whom as well as all of them would
        entry["decoded"] = min(len(frames), MAX_DECODED)  # a lan keeps every frame; decoding stops here too
        entry["facts"] = facts(frames[:MAX_DECODED], entry["role"], owner, peers)


def frames_to_json(found: list[dict[str, Any]]) -> None:
    """Raw frames as [sec, nsec, base64] (the guest's JSON); `frames_from_json` undoes it."""
    for entry in found:
        if "frames" in entry:
            entry["frames"] = [[sec, nsec, base64.b64encode(data).decode()] for sec, nsec, data in entry["frames"]]


def frames_from_json(found: list[dict[str, Any]]) -> None:
    for entry in found:
        if "frames" in entry:
            entry["frames"] = [(int(sec), int(nsec), base64.b64decode(data)) for sec, nsec, data in entry["frames"]]


def write_pcap(frames: list[Frame], path: str) -> str:
    """A pcap file (Ethernet, nanosecond stamps) that Wireshark and scapy's rdpcap open."""
    from scapy.utils import RawPcapWriter

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with contextlib.closing(RawPcapWriter(path, linktype=1, nano=True, snaplen=SNAPLEN)) as w:
        w.write_header(None)  # an empty capture is still a valid pcap
        for sec, nsec, data in frames:
            w.write_packet(data, sec=sec, usec=nsec)
    return path


def facts(frames: list[Frame], role: str, owner: dict[str, str], peers: set[str]) -> dict[str, Any]:
    """What the frames of one point prove (see the module doc). `owner`: address -> endpoint name;
    `peers`: the addresses of lan peers (traffic toward them shows which source the lan saw)."""
    sources: Counter[str] = Counter()
    macs: dict[str, str] = {}
    arp: Counter[str] = Counter()
    ndp: Counter[str] = Counter()
    vxlan: Counter[str] = Counter()
    vlans: Counter[tuple[int, str]] = Counter()
    for _, _, data in frames:
        found = layers(data)
        kinds = {layer["kind"]: layer for layer in reversed(found)}  # kind -> its first layer
        a, ip, six = kinds.get("arp"), kinds.get("ip"), kinds.get("ipv6")
        if "dot1q" in kinds:  # which VLAN each sender's frames carried on a trunk
            sender = a["psrc"] if a else ip["src"] if ip else kinds["ether"]["src"]
            vlans[(int(kinds["dot1q"]["vlan"]), str(sender))] += 1
        if a is not None:
            if a["psrc"] and a["psrc"] != "0.0.0.0":
                macs.setdefault(a["psrc"], a["hwsrc"])
            if a["op"] == 1:
                arp[f"who-has {a['pdst']} tell {a['psrc']}"] += 1
            continue
        if six is not None:
            if "nd_ns" in kinds:
                if six["src"] != "::":  # not an interface checking its own new address (DAD)
                    if "nd_opt_src_lladdr" in kinds:
                        macs.setdefault(six["src"], kinds["nd_opt_src_lladdr"]["lladdr"])
                    ndp[f"who-has {kinds['nd_ns']['tgt']} tell {six['src']}"] += 1
            elif "nd_na" in kinds and "nd_opt_dst_lladdr" in kinds:
                macs.setdefault(kinds["nd_na"]["tgt"], kinds["nd_opt_dst_lladdr"]["lladdr"])
            elif role == "lan" and six["dst"] in peers and six["src"] not in peers:
                sources[six["src"]] += 1
            continue
        if ip is None:
            continue
        if role == "lan" and ip["dst"] in peers and ip["src"] not in peers:
            sources[ip["src"]] += 1
        udp, vx = kinds.get("udp"), kinds.get("vxlan")
        if udp is not None and udp["dport"] == VXLAN_PORT and vx is not None:
            what = f"{ip['src']} -> {ip['dst']} VNI {vx['vni']}"
            inner = first(found, "ip", after=found.index(vx))
            if inner is not None:
                what += f" carrying {inner['src']} -> {inner['dst']}"
            vxlan[what] += 1

    def named(address: str) -> str:
        return f"{address} ({owner[address]})" if address in owner else address

    out: dict[str, Any] = {}
    if sources:
        out["sources"] = {named(a): n for a, n in sorted(sources.items(), key=_by_address)}
    if macs:
        out["macs"] = {named(a): m for a, m in sorted(macs.items(), key=_by_address) if _is_unicast(a)}
    if arp:
        out["arp"] = dict(sorted(arp.items()))
    if ndp:
        out["ndp"] = dict(sorted(ndp.items()))
    if vxlan:
        out["vxlan"] = dict(sorted(vxlan.items()))
    if vlans:
        by_vid: dict[str, list[str]] = {}
        for (vid, sender), _ in sorted(vlans.items()):
            by_vid.setdefault(f"VID {vid}", []).append(named(sender))
        out["vlans"] = by_vid
    return out


def _is_unicast(address: str) -> bool:
    """A unicast address the run numbered (IPv6 link-local ones, which every interface makes itself, left out)."""
    with contextlib.suppress(ValueError):
        a = ip_address(address)
        if a.version == 6:
            return not (a.is_multicast or a.is_unspecified or a.is_link_local)
        return not (a.is_multicast or a.is_unspecified or a == IPv4Address("255.255.255.255"))
    return False


def _by_address(item: tuple[str, Any]) -> tuple[int, int, str]:
    """IPv4 addresses in order, then IPv6 ones."""
    with contextlib.suppress(ValueError):
        a = ip_address(item[0])
        return a.version, int(a), ""
    return 0, 0, item[0]
