"""One source's sweep: every probe from one namespace sent at once, answers collected with poll.

Sockets are created while the thread is inside the source namespace and stay there for life; the
I/O then runs outside it. ICMP uses one raw socket with a random echo id (a raw socket sees every
ICMP packet of its namespace, so replies are matched by id and sequence), ICMPv6 a second one the same
way; TCP is a non-blocking connect; UDP sends a token to a responder netlab planted and waits for it to come
back. A shot's family is its address's.
"""

from __future__ import annotations

import errno
import functools
import os
import select
import socket
import struct
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import NamedTuple

from netlab import nsthread
from netlab.model.probing import Answer
from netlab.model.results import Outcome
from netlab.model.topology import ProbeKind
from netlab.probes import dns
from netlab.probes.nftrace import DropWatch, Event

ICMP_ECHO_REPLY = 0
ICMP_UNREACH = 3
ICMP_TIME_EXCEEDED = 11
ICMP_ECHO = 8
SOL_RAW = 255  # linux/socket.h (not exported by Python's socket module)
ICMP_FILTER = 1  # linux/icmp.h: SOL_RAW option, a bitmask of ICMP types to drop
SO_TIMESTAMPNS = 35  # asm-generic/socket.h (SO_TIMESTAMPNS_OLD): struct timespec
_STAMP_SPACE = socket.CMSG_SPACE(16)
ICMP_FILTER_MASK = 0xFFFFFFFF & ~((1 << ICMP_ECHO_REPLY) | (1 << ICMP_UNREACH) | (1 << ICMP_TIME_EXCEEDED))
ICMP6_UNREACH = 1
ICMP6_TIME_EXCEEDED = 3
ICMP6_ECHO = 128
ICMP6_ECHO_REPLY = 129
ICMP6_FILTER = 1  # linux/icmpv6.h: SOL_ICMPV6 option, struct icmp6_filter: 256 bits, a set bit blocks that type
ICMP6_FILTER_BITS = b"".join(
    struct.pack(
        "I",
        0xFFFFFFFF
        & ~sum(1 << (t % 32) for t in (ICMP6_ECHO_REPLY, ICMP6_UNREACH, ICMP6_TIME_EXCEEDED) if t // 32 == word),
    )
    for word in range(8)
)
UNREACH6_CODES = {
    0: "no route to destination",
    1: "communication administratively prohibited",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed policy",
    6: "reject route to destination",
}

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


class Shot(NamedTuple):
    """One probe to send: key is the caller's key for its answer."""

    key: int
    kind: ProbeKind
    address: IPv4Address | IPv6Address  # dns: the resolver the source uses
    port: int | None = None
    name: str | None = None  # dns: the name to resolve
    aaaa: bool = False  # dns: ask for its IPv6 address (dns6:NAME)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


_PAYLOAD = b"netlab-probe-000"
_PAYLOAD_SUM = sum(struct.unpack(f"!{len(_PAYLOAD) // 2}H", _PAYLOAD))


def echo_request6(ident: int, seq: int) -> bytes:
    """An ICMPv6 echo request; the kernel fills in the checksum (it covers the IPv6 pseudo-header)."""
    return struct.pack("!BBHHH", ICMP6_ECHO, 0, 0, ident, seq) + _PAYLOAD


def echo_request(ident: int, seq: int, payload: bytes = _PAYLOAD) -> bytes:
    if payload is _PAYLOAD:  # the usual case: sum the constant words once (one packet per pair at N=100)
        total = (ICMP_ECHO << 8) + ident + seq + _PAYLOAD_SUM
        total = (total >> 16) + (total & 0xFFFF)
        csum = ~(total + (total >> 16)) & 0xFFFF
    else:
        csum = _checksum(struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, seq) + payload)
    return struct.pack("!BBHHH", ICMP_ECHO, 0, csum, ident, seq) + payload


@functools.lru_cache(maxsize=8192)
def _text(address: IPv4Address | IPv6Address) -> str:
    return str(address)


def _family(address: IPv4Address | IPv6Address) -> socket.AddressFamily:
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


def _negative(err: int) -> Answer:
    if err in NEGATIVE_ERRNOS:
        return Answer(Outcome.UNREACHABLE, None, NEGATIVE_ERRNOS[err])
    return Answer(Outcome.ERROR, None, f"{errno.errorcode.get(err, err)}: {os.strerror(err)}")


#: the detail of a shot left unanswered when the sweep stopped early (`quiet`): not a verdict, the caller probes again
QUIET = "no answer yet (the sweep stopped when the answers did; probed again)"
#: a flow of the sweep as trace reports name it: ("icmp", version, echo id, sequence) or (protocol, address, port)
#: of the probe's own socket
FlowKey = tuple[object, ...]
#: after a trace reports a probe's packet dropped, how long an answer may still come (a REJECT rule's ICMP error or
#: reset, which says more) before the cell is closed as dropped
DROP_GRACE_S = 0.03


class _Sweep:
    """The probes of one source namespace. Its sockets are registered with a poll loop that may
    serve many sources at once (`sweep_all`); `left` counts the shots still without an answer.
    `flows`: where the loop looks up which shot a traced packet belongs to (only while a DropWatch reads)."""

    def __init__(
        self,
        shots: list[Shot],
        timeout: float,
        poll: select.epoll,
        owners: dict[int, _Sweep],
        ident: int | None = None,
        flows: dict[FlowKey, list[tuple[_Sweep, Shot]]] | None = None,
    ) -> None:
        self.shots = shots
        self.timeout = timeout
        self.results: dict[int, Answer] = {}
        self.left = len(shots)
        self.sent_at: dict[int, float] = {}  # time.time() of the send: kernel receive stamps use that clock
        self.poll = poll
        self.owners = owners
        self.by_fd: dict[int, tuple[socket.socket, Shot | None]] = {}
        self.icmp: socket.socket | None = None
        self.icmp6: socket.socket | None = None
        self.ident = ident or int.from_bytes(os.urandom(2), "big") or 1
        self.flows = flows
        #: shot index -> (when to close it as dropped, the drop, "request" or "reply")
        self.dropped: dict[int, tuple[float, Event, str]] = {}
        self.drops: dict[int, tuple[Event, str]] = {}  # the cells closed as dropped
        self.icmp_seq: dict[int, Shot] = {}
        self.token = os.urandom(8)
        self.qid = int.from_bytes(os.urandom(2), "big")

    def _answer(self, index: int, answer: Answer) -> None:
        if index not in self.results:
            self.results[index] = answer
            self.left -= 1

    def _register(self, fd: int, events: int) -> None:
        self.poll.register(fd, events)
        self.owners[fd] = self

    # -- socket creation (inside the source namespace) -------------------
    def open(self) -> None:
        for shot in self.shots:
            try:
                if shot.kind is ProbeKind.ICMP and shot.address.version == 6:
                    if self.icmp6 is None:
                        icmp6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
                        self.icmp6 = icmp6
                        icmp6.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                        # only replies and errors: not the neighbour discovery every namespace exchanges
                        icmp6.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, ICMP6_FILTER_BITS)
                        icmp6.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                        icmp6.setblocking(False)
                        self.by_fd[icmp6.fileno()] = (icmp6, None)
                        self._register(icmp6.fileno(), select.EPOLLIN)
                elif shot.kind is ProbeKind.ICMP:
                    if self.icmp is None:
                        icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                        self.icmp = icmp
                        icmp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                        # the kernel drops every ICMP type but replies and errors before they reach us:
                        # a raw socket would otherwise also read every echo request sent to its namespace
                        icmp.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ICMP_FILTER_MASK))
                        # the kernel stamps each packet on arrival: round trips stay true even when this
                        # process reads the answers later (one loop serves every source)
                        icmp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                        icmp.setblocking(False)
                        self.by_fd[icmp.fileno()] = (icmp, None)
                        self._register(icmp.fileno(), select.EPOLLIN)
                elif shot.kind is ProbeKind.TCP:
                    s = socket.socket(_family(shot.address), socket.SOCK_STREAM)
                    s.setblocking(False)
                    self.by_fd[s.fileno()] = (s, shot)
                elif shot.kind in (ProbeKind.UDP, ProbeKind.DNS):
                    s = socket.socket(_family(shot.address), socket.SOCK_DGRAM)
                    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                    s.setblocking(False)
                    self.by_fd[s.fileno()] = (s, shot)
            except OSError as e:
                self._answer(shot.key, Answer(Outcome.ERROR, None, f"socket: {e}"))

    # -- sending (outside the namespace is fine: sockets keep theirs) ----
    def send(self) -> None:
        for fd, (sock, shot) in list(self.by_fd.items()):
            if shot is None:
                continue
            addr = (_text(shot.address), 53 if shot.kind is ProbeKind.DNS else shot.port or 0)
            self.sent_at[shot.key] = time.time()
            try:
                if shot.kind is ProbeKind.TCP:
                    rc = sock.connect_ex(addr)
                    if rc == errno.EINPROGRESS:
                        self._flow(sock, shot)
                    if rc == 0:
                        self._done(fd, Answer(Outcome.REACHABLE, self._rtt(shot), "connected"))
                    elif rc == errno.EINPROGRESS:
                        self._register(fd, select.EPOLLOUT)
                    else:
                        self._done(fd, _negative(rc))
                else:
                    sock.connect(addr)
                    self._flow(sock, shot)
                    qtype = dns.TYPE_AAAA if shot.aaaa else dns.TYPE_A
                    sock.send(dns.query(str(shot.name), self.qid, qtype) if shot.kind is ProbeKind.DNS else self.token)
                    self._register(fd, select.EPOLLIN)
            except OSError as e:
                self._done(fd, _negative(e.errno or 0))
        for seq, shot in enumerate(s for s in self.shots if s.kind is ProbeKind.ICMP):
            raw = self.icmp6 if shot.address.version == 6 else self.icmp
            if shot.key in self.results or raw is None:
                continue
            self.icmp_seq[seq] = shot  # one numbering for both families: a sequence number names one shot
            if self.flows is not None:
                self.flows[("icmp", shot.address.version, self.ident, seq)] = [(self, shot)]
            self.sent_at[shot.key] = time.time()
            packet = echo_request6(self.ident, seq) if raw is self.icmp6 else echo_request(self.ident, seq)
            try:
                raw.sendto(packet, (_text(shot.address), 0))
            except OSError as e:
                self._answer(shot.key, _negative(e.errno or 0))

    def _flow(self, sock: socket.socket, shot: Shot) -> None:
        """Remember the socket's own address and port: a traced packet from or to them is this shot's (or one of
        several shots': Linux gives sockets connected to different destinations the same port; `_whose` tells)."""
        if self.flows is None:
            return
        proto = 6 if shot.kind is ProbeKind.TCP else 17
        host, port = sock.getsockname()[:2]
        self.flows.setdefault((proto, ip_address(host), port), []).append((self, shot))

    def drop_seen(self, shot: Shot, event: Event, direction: str) -> None:
        """A trace reported this shot's request or reply dropped: close the cell after a short grace."""
        if shot.key not in self.results and shot.key not in self.dropped:
            self.dropped[shot.key] = (time.monotonic() + DROP_GRACE_S, event, direction)

    def settle(self, now: float | None = None) -> None:
        """Close the cells whose drop was reported at least DROP_GRACE_S ago (all of them: `now` None)."""
        for key, (due, event, direction) in list(self.dropped.items()):
            if now is not None and due > now:
                continue
            del self.dropped[key]
            if key in self.results:
                continue
            what = "the request" if direction == "request" else "the reply"
            where = "policy" if event.kind == "policy" else "a rule"
            self._answer(
                key,
                Answer(
                    Outcome.UNREACHABLE,
                    None,
                    f"{what} was dropped by {where} of {event.family} {event.table} {event.chain} (nftables trace)",
                ),
            )
            self.drops[key] = (event, direction)

    def next_settle(self) -> float | None:
        return min((due for due, _, _ in self.dropped.values()), default=None)

    def _rtt(self, shot: Shot, at: float | None = None) -> float:
        return round(((at or time.time()) - self.sent_at[shot.key]) * 1000, 3)

    def _done(self, fd: int, answer: Answer) -> None:
        sock, shot = self.by_fd.pop(fd)
        assert shot is not None
        self._answer(shot.key, answer)
        if self.owners.pop(fd, None) is not None:
            self.poll.unregister(fd)
        sock.close()

    # -- receiving --------------------------------------------------------
    def event(self, fd: int, ev: int) -> None:
        if self.icmp is not None and fd == self.icmp.fileno():
            self._icmp_in()
        elif self.icmp6 is not None and fd == self.icmp6.fileno():
            self._icmp6_in()
        elif fd in self.by_fd:
            self._sock_event(fd, ev)

    def expire(self, detail: str | None = None) -> None:
        self.settle()
        for shot in self.shots:
            if shot.key not in self.results:
                said = detail or f"no answer within {self.timeout:g} s"
                self._answer(shot.key, Answer(Outcome.UNREACHABLE, None, said, timed_out=True))

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
            data, anc, _, _ = sock.recvmsg(512, _STAMP_SPACE)
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
                what = f"{shot.name} -> {found} via {shot.address}"
                self._done(fd, Answer(Outcome.REACHABLE, self._rtt(shot, _stamp(anc)), what, stamped=True))
            else:
                empty = "no AAAA record in the answer" if shot.aaaa else "no address in the answer"
                what = dns.RCODES.get(rcode, f"rcode {rcode}") if rcode else empty
                self._done(fd, Answer(Outcome.UNREACHABLE, None, f"{shot.name}: {what} from {shot.address}"))
            return
        if data == self.token:
            self._done(fd, Answer(Outcome.REACHABLE, self._rtt(shot, _stamp(anc)), "UDP echo received", stamped=True))

    def _icmp_in(self) -> None:
        assert self.icmp is not None
        while True:
            try:
                pkt, anc, _, (src, _) = self.icmp.recvmsg(2048, _STAMP_SPACE)
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
                if ident == self.ident and shot is not None:
                    self._answer(
                        shot.key,
                        Answer(Outcome.REACHABLE, self._rtt(shot, _stamp(anc)), f"echo reply from {src}", stamped=True),
                    )
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
                if ident == self.ident and shot is not None:
                    what = UNREACH_CODES.get(code, f"code {code}") if typ == ICMP_UNREACH else "TTL exceeded"
                    self._answer(shot.key, Answer(Outcome.UNREACHABLE, None, f"ICMP {what} from {src}"))

    def _icmp6_in(self) -> None:
        """ICMPv6 from a raw socket: the message without its IPv6 header; an error quotes the IPv6 header (40
        bytes) and the echo request it answers."""
        assert self.icmp6 is not None
        while True:
            try:
                pkt, anc, _, addr = self.icmp6.recvmsg(2048, _STAMP_SPACE)
            except BlockingIOError:
                return
            except OSError:
                return
            if len(pkt) < 8:
                continue
            src, typ, code = addr[0], pkt[0], pkt[1]
            if typ == ICMP6_ECHO_REPLY:
                ident, seq = struct.unpack("!HH", pkt[4:8])
                shot = self.icmp_seq.get(seq)
                if ident == self.ident and shot is not None:
                    self._answer(
                        shot.key,
                        Answer(Outcome.REACHABLE, self._rtt(shot, _stamp(anc)), f"echo reply from {src}", stamped=True),
                    )
            elif typ in (ICMP6_UNREACH, ICMP6_TIME_EXCEEDED):
                quoted = pkt[8 + 40 : 8 + 40 + 8]
                if len(quoted) < 8 or quoted[0] != ICMP6_ECHO:
                    continue
                ident, seq = struct.unpack("!HH", quoted[4:8])
                shot = self.icmp_seq.get(seq)
                if ident == self.ident and shot is not None:
                    what = UNREACH6_CODES.get(code, f"code {code}") if typ == ICMP6_UNREACH else "hop limit exceeded"
                    self._answer(shot.key, Answer(Outcome.UNREACHABLE, None, f"ICMPv6 {what} from {src}"))

    def close(self) -> None:
        for fd, (sock, _) in self.by_fd.items():
            if self.owners.pop(fd, None) is not None:
                self.poll.unregister(fd)
            sock.close()
        self.by_fd.clear()


def _stamp(anc: list[tuple[int, int, bytes]]) -> float | None:
    """The kernel's receive time (CLOCK_REALTIME) from SO_TIMESTAMPNS ancillary data."""
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            return float(sec + nsec / 1e9)
    return None


def sweep_all(
    jobs: Sequence[tuple[str, list[Shot]]],
    timeout: float,
    workers: int | None = None,
    watch: DropWatch | None = None,
    quiet: float | None = None,
) -> dict[int, Answer]:
    """Send every shot of every (namespace, shots) job; one answer per shot index.

    The jobs are shared out round-robin among `workers` threads (default: one per CPU, at most
    one per 16 sources), each running one poll loop for its share (`_loop`). The kernel does the
    forwarding work for a packet inside the sender's sendto(), which releases the GIL, so a second
    thread puts the second CPU to work; a thread per source would cost more in start-up and GIL
    hand-offs than the probing itself.

    `watch`: trace reports to read while probing (one loop then serves every source): a cell whose request or
    reply a rule dropped is closed at once (`watch.decided` says by what) instead of waiting for its timeout.
    `quiet`: stop as soon as no answer came for that long; the shots still unanswered are returned timed out
    with the detail QUIET (the caller probes them again, traced: netlab/probes/matrix.py).
    """
    if watch is not None:
        return _loop(jobs, timeout, watch, quiet)
    if workers is None:
        workers = min(os.cpu_count() or 1, -(-len(jobs) // 16))
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return _loop(jobs, timeout, quiet=quiet)
    shares = [list(jobs[i::workers]) for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="netlab-probe") as pool:
        futures = [pool.submit(_loop, share, timeout, None, quiet) for share in shares]
        results: dict[int, Answer] = {}
        for fut in futures:
            results.update(fut.result())
    return results


def _loop(
    jobs: Sequence[tuple[str, list[Shot]]],
    timeout: float,
    watch: DropWatch | None = None,
    quiet: float | None = None,
) -> dict[int, Answer]:
    """One poll loop for several sources.

    Sockets are opened source by source from this thread (setns in, create, setns back); sending
    and reading then need no namespace at all. After each source's burst the loop reads what has
    already come back, so socket buffers stay small. Each source's probes get the full timeout
    from the moment that source finished sending.
    """
    owners: dict[int, _Sweep] = {}
    sweeps: list[_Sweep] = []
    flows: dict[FlowKey, list[tuple[_Sweep, Shot]]] | None = {} if watch is not None else None
    first_ident = int.from_bytes(os.urandom(2), "big")
    with select.epoll() as poll:
        if watch is not None:
            for fd in watch.fds():
                poll.register(fd, select.EPOLLIN)
        try:
            for n, (netns, shots) in enumerate(jobs):
                # distinct echo ids: a traced echo is told by its id and sequence number
                ident = ((first_ident + n) % 0xFFFF) + 1 if watch is not None else None
                sw = _Sweep(shots, timeout, poll, owners, ident, flows)
                sweeps.append(sw)
                try:
                    with nsthread.entered(netns):
                        sw.open()
                except OSError as e:
                    sw.close()
                    for shot in shots:
                        sw._answer(shot.key, Answer(Outcome.ERROR, None, f"cannot probe from here: {e}"))
            deadlines: dict[_Sweep, float] = {}
            for sw in sweeps:
                sw.send()
                deadlines[sw] = time.monotonic() + timeout
                _drain(poll, owners, 0, watch, flows)
            left, heard = sum(sw.left for sw in sweeps), time.monotonic()
            while deadlines:
                now = time.monotonic()
                for sw in deadlines:
                    sw.settle(now)
                for sw in [sw for sw, d in deadlines.items() if not sw.left or d <= now]:
                    del deadlines[sw]
                    sw.expire()
                still = sum(sw.left for sw in sweeps)
                if still < left:
                    left, heard = still, now
                if quiet is not None and deadlines and now - heard >= quiet:
                    for sw in deadlines:
                        sw.expire(QUIET)
                    break
                if deadlines:
                    due = [d for sw in deadlines if (d := sw.next_settle()) is not None]
                    if quiet is not None:
                        due.append(heard + quiet)
                    _drain(poll, owners, max(0.0, min([*deadlines.values(), *due]) - now), watch, flows)
        finally:
            results: dict[int, Answer] = {}
            for sw in sweeps:
                sw.expire()
                sw.close()
                results.update(sw.results)
                if watch is not None:
                    watch.decided.update(sw.drops)
    return results


def _drain(
    poll: select.epoll,
    owners: dict[int, _Sweep],
    wait: float,
    watch: DropWatch | None = None,
    flows: dict[FlowKey, list[tuple[_Sweep, Shot]]] | None = None,
) -> None:
    for fd, ev in poll.poll(wait, 1024):
        sw = owners.get(fd)
        if sw is not None:
            sw.event(fd, ev)
        elif watch is not None and flows is not None and watch.reads(fd):
            for event in watch.drops(fd):
                found = _whose(event, flows)
                if found is not None:
                    (owner, shot), direction = found
                    owner.drop_seen(shot, event, direction)


def _port(shot: Shot) -> int | None:
    return 53 if shot.kind is ProbeKind.DNS else shot.port


def _whose(e: Event, flows: dict[FlowKey, list[tuple[_Sweep, Shot]]]) -> tuple[tuple[_Sweep, Shot], str] | None:
    """The shot a dropped packet belongs to, and whether it was its request or its reply; None when no shot, or
    more than one, fits (the cell then waits for its timeout: a wrong match would close the wrong cell)."""
    if e.proto in (1, 58) and e.icmp_echo is not None:
        found = flows.get(("icmp", 4 if e.proto == 1 else 6, *e.icmp_echo))
        if not found:
            return None
        request = e.icmp_type in (8, 128)
        if (e.daddr if request else e.saddr) != found[0][1].address:
            return None  # another source's echo with the same id and sequence
        return found[0], "request" if request else "reply"
    if e.proto not in (6, 17):
        return None
    # a request leaves the probe's socket for the address and port it was sent to (headers seen before any DNAT)
    sent = [o for o in flows.get((e.proto, e.saddr, e.sport), []) if (o[1].address, _port(o[1])) == (e.daddr, e.dport)]
    if len(sent) == 1:
        return sent[0], "request"
    if sent:
        return None
    # a reply comes back to the socket; from a published port's container it carries that container's address
    back = flows.get((e.proto, e.daddr, e.dport), [])
    if len(back) > 1:
        back = [o for o in back if (o[1].address, _port(o[1])) == (e.saddr, e.sport)]
    return (back[0], "reply") if len(back) == 1 else None


def sweep(netns: str, shots: list[Shot], timeout: float) -> dict[int, Answer]:
    """Send every shot from the namespace at `netns`; one answer per shot index."""
    return sweep_all([(netns, shots)], timeout)
