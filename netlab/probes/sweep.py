"""One source's sweep: every probe from one namespace sent at once, answers collected with poll.

Sockets are created while the thread is inside the source namespace and stay there for life; the
I/O then runs outside it. ICMP uses one raw socket with a random echo id (a raw socket sees every
ICMP packet of its namespace, so replies are matched by id and sequence); TCP is a non-blocking
connect; UDP sends a token to a responder netlab planted and waits for it to come back.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from ipaddress import IPv4Address

from netlab.model.results import Outcome
from netlab.model.topology import ProbeKind
from netlab.probes import dns, nsthread

ICMP_ECHO_REPLY = 0
ICMP_UNREACH = 3
ICMP_TIME_EXCEEDED = 11
ICMP_ECHO = 8
SOL_RAW = 255  # linux/socket.h (not exported by Python's socket module)
ICMP_FILTER = 1  # linux/icmp.h: SOL_RAW option, a bitmask of ICMP types to drop
ICMP_FILTER_MASK = 0xFFFFFFFF & ~((1 << ICMP_ECHO_REPLY) | (1 << ICMP_UNREACH) | (1 << ICMP_TIME_EXCEEDED))

UNREACH_CODES = {
    0: "network unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    13: "communication administratively prohibited",
}

#: errno of a send/connect that means "the network said no" rather than "netlab failed"
NEGATIVE_ERRNOS = {
    errno.ENETUNREACH: "no route to the destination network",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ECONNREFUSED: "connection refused",
    errno.EPERM: "blocked by a firewall rule in the source namespace",
    errno.EACCES: "blocked (EACCES)",
    errno.ENETDOWN: "network is down",
    errno.EADDRNOTAVAIL: "no usable source address",
}


@dataclass(frozen=True, slots=True)
class Shot:
    """One probe to send: index is the caller's key for the result."""

    index: int
    kind: ProbeKind
    address: IPv4Address  # dns: the resolver the source uses
    port: int | None = None
    name: str | None = None  # dns: the name to resolve


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    rtt_ms: float | None
    detail: str
    timed_out: bool = False


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def echo_request(ident: int, seq: int, payload: bytes = b"netlab-probe-000") -> bytes:
    header = struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, seq)
    csum = _checksum(header + payload)
    return struct.pack("!BBHHH", ICMP_ECHO, 0, csum, ident, seq) + payload


def _negative(err: int) -> Answer:
    if err in NEGATIVE_ERRNOS:
        return Answer(Outcome.UNREACHABLE, None, NEGATIVE_ERRNOS[err])
    return Answer(Outcome.ERROR, None, f"{errno.errorcode.get(err, err)}: {os.strerror(err)}")


class _Sweep:
    def __init__(self, shots: list[Shot], timeout: float) -> None:
        self.shots = shots
        self.timeout = timeout
        self.results: dict[int, Answer] = {}
        self.sent_at: dict[int, float] = {}
        self.poll = select.poll()
        self.by_fd: dict[int, tuple[socket.socket, Shot | None]] = {}
        self.icmp: socket.socket | None = None
        self.ident = int.from_bytes(os.urandom(2), "big") or 1
        self.icmp_seq: dict[int, Shot] = {}
        self.token = os.urandom(8)
        self.qid = int.from_bytes(os.urandom(2), "big")

    # -- socket creation (inside the source namespace) -------------------
    def open(self) -> None:
        for shot in self.shots:
            try:
                if shot.kind is ProbeKind.ICMP:
                    if self.icmp is None:
                        self.icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                        self.icmp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                        # the kernel drops every ICMP type but replies and errors before they reach us:
                        # a raw socket would otherwise also read every echo request sent to its namespace
                        self.icmp.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ICMP_FILTER_MASK))
                        self.icmp.setblocking(False)
                        self.by_fd[self.icmp.fileno()] = (self.icmp, None)
                        self.poll.register(self.icmp, select.POLLIN)
                elif shot.kind is ProbeKind.TCP:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setblocking(False)
                    self.by_fd[s.fileno()] = (s, shot)
                elif shot.kind in (ProbeKind.UDP, ProbeKind.DNS):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.setblocking(False)
                    self.by_fd[s.fileno()] = (s, shot)
            except OSError as e:
                self.results[shot.index] = Answer(Outcome.ERROR, None, f"socket: {e}")

    # -- sending (outside the namespace is fine: sockets keep theirs) ----
    def send(self) -> None:
        for fd, (sock, shot) in list(self.by_fd.items()):
            if shot is None:
                continue
            addr = (str(shot.address), 53 if shot.kind is ProbeKind.DNS else shot.port or 0)
            self.sent_at[shot.index] = time.monotonic()
            try:
                if shot.kind is ProbeKind.TCP:
                    rc = sock.connect_ex(addr)
                    if rc == 0:
                        self._done(fd, Answer(Outcome.REACHABLE, self._rtt(shot), "connected"))
                    elif rc == errno.EINPROGRESS:
                        self.poll.register(fd, select.POLLOUT)
                    else:
                        self._done(fd, _negative(rc))
                else:
                    sock.connect(addr)
                    sock.send(dns.query(str(shot.name), self.qid) if shot.kind is ProbeKind.DNS else self.token)
                    self.poll.register(fd, select.POLLIN)
            except OSError as e:
                self._done(fd, _negative(e.errno or 0))
        for seq, shot in enumerate(s for s in self.shots if s.kind is ProbeKind.ICMP):
            if shot.index in self.results or self.icmp is None:
                continue
            self.icmp_seq[seq] = shot
            self.sent_at[shot.index] = time.monotonic()
            try:
                self.icmp.sendto(echo_request(self.ident, seq), (str(shot.address), 0))
            except OSError as e:
                self.results[shot.index] = _negative(e.errno or 0)

    def _rtt(self, shot: Shot) -> float:
        return round((time.monotonic() - self.sent_at[shot.index]) * 1000, 3)

    def _done(self, fd: int, answer: Answer) -> None:
        sock, shot = self.by_fd.pop(fd)
        assert shot is not None
        self.results[shot.index] = answer
        with contextlib.suppress(KeyError):
            self.poll.unregister(fd)
        sock.close()

    # -- receiving --------------------------------------------------------
    def pending(self) -> bool:
        return any(s.index not in self.results for s in self.shots)

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while self.pending():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for fd, ev in self.poll.poll(max(1, int(left * 1000))):
                if self.icmp is not None and fd == self.icmp.fileno():
                    self._icmp_in()
                elif fd in self.by_fd:
                    self._sock_event(fd, ev)
        for shot in self.shots:
            if shot.index not in self.results:
                self.results[shot.index] = Answer(
                    Outcome.UNREACHABLE, None, f"no answer within {self.timeout:g} s", timed_out=True
                )

    def _sock_event(self, fd: int, ev: int) -> None:
        sock, shot = self.by_fd[fd]
        assert shot is not None
        if shot.kind is ProbeKind.TCP:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                self._done(fd, Answer(Outcome.REACHABLE, self._rtt(shot), "TCP handshake completed"))
            else:
                ans = _negative(err)
                if err == errno.ECONNREFUSED:
                    ans = Answer(Outcome.UNREACHABLE, None, "TCP reset (connection refused)")
                self._done(fd, ans)
            return
        try:
            data = sock.recv(64)
        except OSError as e:
            if e.errno == errno.ECONNREFUSED:
                what = "no resolver listening" if shot.kind is ProbeKind.DNS else "ICMP port unreachable"
                self._done(fd, Answer(Outcome.UNREACHABLE, None, what))
            else:
                self._done(fd, _negative(e.errno or 0))
            return
        if shot.kind is ProbeKind.DNS:
            try:
                qid, rcode, addrs = dns.parse_response(data)
            except (ValueError, IndexError, struct.error):
                return
            if qid != self.qid:
                return
            if rcode == dns.NOERROR and addrs:
                found = ", ".join(map(str, addrs))
                self._done(fd, Answer(Outcome.REACHABLE, self._rtt(shot), f"{shot.name} -> {found} via {shot.address}"))
            else:
                what = dns.RCODES.get(rcode, f"rcode {rcode}") if rcode else "no address in the answer"
                self._done(fd, Answer(Outcome.UNREACHABLE, None, f"{shot.name}: {what} from {shot.address}"))
            return
        if data == self.token:
            self._done(fd, Answer(Outcome.REACHABLE, self._rtt(shot), "UDP echo received"))

    def _icmp_in(self) -> None:
        assert self.icmp is not None
        while True:
            try:
                pkt, (src, _) = self.icmp.recvfrom(2048)
            except BlockingIOError:
                return
            except OSError:
                return  # asynchronous errors on a raw socket say nothing about one probe
            ihl = (pkt[0] & 0x0F) * 4
            if len(pkt) < ihl + 8:
                continue
            typ, code = pkt[ihl], pkt[ihl + 1]
            if typ == ICMP_ECHO_REPLY:
                ident, seq = struct.unpack("!HH", pkt[ihl + 4 : ihl + 8])
                shot = self.icmp_seq.get(seq)
                if ident == self.ident and shot is not None and shot.index not in self.results:
                    self.results[shot.index] = Answer(Outcome.REACHABLE, self._rtt(shot), f"echo reply from {src}")
            elif typ in (ICMP_UNREACH, ICMP_TIME_EXCEEDED):
                inner = pkt[ihl + 8 :]
                if len(inner) < 20:
                    continue
                qihl = (inner[0] & 0x0F) * 4
                quoted = inner[qihl : qihl + 8]
                if len(quoted) < 8 or quoted[0] != ICMP_ECHO:
                    continue
                ident, seq = struct.unpack("!HH", quoted[4:8])
                shot = self.icmp_seq.get(seq)
                if ident == self.ident and shot is not None and shot.index not in self.results:
                    what = UNREACH_CODES.get(code, f"code {code}") if typ == ICMP_UNREACH else "TTL exceeded"
                    self.results[shot.index] = Answer(Outcome.UNREACHABLE, None, f"ICMP {what} from {src}")

    def close(self) -> None:
        for sock, _ in self.by_fd.values():
            sock.close()
        if self.icmp is not None:
            self.icmp.close()
        self.by_fd.clear()


def sweep(netns: str, shots: list[Shot], timeout: float) -> dict[int, Answer]:
    """Send every shot from the namespace at `netns`; one answer per shot index."""
    sw = _Sweep(shots, timeout)
    try:
        with nsthread.entered(netns):
            sw.open()
        sw.send()
        sw.run()
    except OSError as e:
        for shot in shots:
            sw.results.setdefault(shot.index, Answer(Outcome.ERROR, None, f"cannot probe from here: {e}"))
    finally:
        sw.close()
    return sw.results
