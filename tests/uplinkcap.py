"""A capture on the machine's real uplink (the interface of its default route), to prove no packet of a
run leaves the machine: nothing from or to netlab's pool (IPv4 or inside ARP), no frame sent with a MAC
other than the uplink's own, no DNS question for a bare name (what a container's lookup forwarded to the
machine's resolver would look like)."""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

POOL = ipaddress.IPv4Network("198.18.0.0/15")
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def uplink() -> str | None:
    """The interface of the main table's IPv4 default route."""
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if len(parts) > 2 and parts[1] == "00000000":
                return parts[0]
    return None


def _qname(payload: bytes) -> str | None:
    if len(payload) < 13:
        return None
    labels, pos = [], 12
    while pos < len(payload) and payload[pos] and len(labels) < 64:
        n = payload[pos]
        if n & 0xC0:
            return None
        labels.append(payload[pos + 1 : pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return ".".join(labels)


@dataclass
class UplinkCapture:
    ifname: str
    frames: int = 0
    violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        with open(f"/sys/class/net/{self.ifname}/address") as f:
            self.mac = bytes.fromhex(f.read().strip().replace(":", "") or "00")
        with open(f"/sys/class/net/{self.ifname}/type") as f:
            self.ethernet = f.read().strip() in ("1", "772")  # ARPHRD_ETHER, ARPHRD_LOOPBACK; tun/wg carry bare IP
        self.kernel_counted = 0
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.bind((self.ifname, 0))
        self._sock.setblocking(False)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _counters(self) -> int:
        total = 0
        for name in ("rx_packets", "tx_packets"):
            with open(f"/sys/class/net/{self.ifname}/statistics/{name}") as f:
                total += int(f.read())
        return total

    def __enter__(self) -> UplinkCapture:
        self._thread.start()
        self._start = self._counters()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kernel_counted = self._counters() - self._start  # frames the kernel counted while we listened
        time.sleep(0.2)  # the last of them reach the socket
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=10)
        self._sock.close()
        os.close(self._stop_r)
        os.close(self._stop_w)

    def _read(self) -> None:
        poll = select.poll()
        poll.register(self._sock.fileno(), select.POLLIN)
        poll.register(self._stop_r, select.POLLIN)
        while True:
            events = poll.poll()
            while True:
                try:
                    data, addr = self._sock.recvfrom(65535)
                except BlockingIOError:
                    break
                self.frames += 1
                self._check(data, addr[2])
            if any(fd == self._stop_r for fd, _ in events):
                return

    def _check(self, frame: bytes, pkttype: int) -> None:
        if not self.ethernet:  # a tun/wireguard uplink: bare IP packets, no MACs
            self._check_ip(0x0800 if frame and frame[0] >> 4 == 4 else 0, frame, pkttype, None)
            return
        if len(frame) < 14:
            return
        self._check_ip(struct.unpack("!H", frame[12:14])[0], frame[14:], pkttype, frame[6:12])

    def _check_ip(self, ethertype: int, body: bytes, pkttype: int, src_mac: bytes | None) -> None:
        if ethertype == 0x8100 and len(body) >= 4:  # one 802.1Q tag
            ethertype, body = struct.unpack("!H", body[2:4])[0], body[4:]
        if src_mac is not None and pkttype == PACKET_OUTGOING and src_mac != self.mac:
            self.violations.append(f"sent with MAC {src_mac.hex(':')} (the uplink's is {self.mac.hex(':')})")
        if ethertype == 0x0806 and len(body) >= 28:
            for ip in (body[14:18], body[24:28]):
                if ipaddress.IPv4Address(ip) in POOL:
                    self.violations.append(f"ARP about {ipaddress.IPv4Address(ip)}")
        if ethertype == 0x0800 and len(body) >= 20:
            src, dst = ipaddress.IPv4Address(body[12:16]), ipaddress.IPv4Address(body[16:20])
            if src in POOL or dst in POOL:
                self.violations.append(f"IPv4 {src} -> {dst} proto {body[9]}")
            ihl = (body[0] & 0x0F) * 4
            if body[9] == 17 and len(body) >= ihl + 8:
                _, dport = struct.unpack("!HH", body[ihl : ihl + 4])
                if dport == 53:
                    name = _qname(body[ihl + 8 :])
                    if name and "." not in name.rstrip("."):
                        self.violations.append(f"DNS question for the bare name {name!r} to {dst}")
