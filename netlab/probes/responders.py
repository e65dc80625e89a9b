"""TCP listeners and UDP echo responders planted by netlab in destination namespaces, and the relays of
an emulated userland proxy (docker-proxy) on a node's published ports.

Nothing runs inside the endpoints: netlab creates the sockets in their namespaces and serves them
all from one thread of its own with poll, until the measurement is over.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from collections.abc import Iterable
from types import TracebackType

from netlab import nsthread
from netlab.model.deployed import Listen
from netlab.probes import dns


class Responders:
    """Context manager: plant every socket on enter, close them all on exit."""

    def __init__(self, wanted: Iterable[Listen], ordered: bool = False) -> None:
        """`ordered`: bind in the order given (who binds a port first holds it), else in a stable order."""
        unique = list(dict.fromkeys(wanted))
        self.wanted = unique if ordered else sorted(unique, key=lambda w: (w.netns, w.proto, w.port, w.bind))
        self.socks: dict[int, tuple[socket.socket, Listen]] = {}
        self.zones: dict[int, dict[str, str]] = {}
        self.errors: dict[Listen, str] = {}
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="netlab-responders", daemon=True)

    def __enter__(self) -> Responders:
        for w in self.wanted:
            try:
                with nsthread.entered(w.netns):
                    family = socket.AF_INET6 if ":" in w.bind else socket.AF_INET
                    if w.proto in ("tcp", "dnstcp"):
                        s = socket.socket(family, socket.SOCK_STREAM)
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    else:
                        s = socket.socket(family, socket.SOCK_DGRAM)
                    if family == socket.AF_INET6:  # "::" is both families (an application's socket), else v6 only
                        s.setsockopt(
                            socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if w.bind == "::" and not w.v6only else 1
                        )
                    s.bind((w.bind, w.port))
                    if w.proto in ("tcp", "dnstcp"):
                        s.listen(1024)
                s.setblocking(False)
                self.socks[s.fileno()] = (s, w)
                if w.proto in ("dns", "dnstcp"):
                    self.zones[s.fileno()] = dict(w.zone)  # names -> address text, parsed only when asked
            except OSError as e:
                self.errors[w] = str(e)
        self._thread.start()
        return self

    def _serve(self) -> None:
        poll = select.poll()
        poll.register(self._stop_r, select.POLLIN)
        for fd in self.socks:
            poll.register(fd, select.POLLIN)
        # DNS over TCP: accepted connections stay in the poll set with what they sent so far, so a client that
        # connects and waits holds up no one
        conns: dict[int, tuple[socket.socket, bytearray, dict[str, str]]] = {}
        relays = _Relays(poll)
        try:
            while True:
                for fd, _ in poll.poll():
                    if fd == self._stop_r:
                        return
                    if fd in conns:
                        if self._dns_over_tcp(*conns[fd]):
                            poll.unregister(fd)
                            conns.pop(fd)[0].close()
                        continue
                    if relays.serve(fd):
                        continue
                    sock, w = self.socks[fd]
                    proto = w.proto
                    try:
                        if w.upstream is not None:
                            relays.accept(sock, w)
                        elif proto == "tcp":
                            conn, _ = sock.accept()
                            conn.close()
                        elif proto == "dnstcp":
                            conn, _ = sock.accept()
                            conn.setblocking(False)
                            conns[conn.fileno()] = (conn, bytearray(), self.zones[fd])
                            poll.register(conn.fileno(), select.POLLIN)
                        elif proto == "dns":
                            data, peer = sock.recvfrom(2048)
                            reply = dns.answer(data, self.zones[fd])
                            if reply is not None:
                                sock.sendto(reply, peer)
                        else:
                            data, peer = sock.recvfrom(2048)
                            sock.sendto(data, peer)
                    except OSError:
                        continue
        finally:
            for conn, _, _ in conns.values():
                conn.close()
            relays.close()

    @staticmethod
    def _dns_over_tcp(conn: socket.socket, buf: bytearray, zone: dict[str, str]) -> bool:
        """Read what arrived (RFC 1035 4.2.2: a two-byte length, then the message); once one query is
        whole, answer it. True when the connection is done with (answered, closed or broken)."""
        try:
            chunk = conn.recv(4096)
        except BlockingIOError:
            return False
        except OSError:
            return True
        if not chunk:
            return True
        buf += chunk
        if len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
            return False
        reply = dns.answer(bytes(buf[2 : 2 + int.from_bytes(buf[:2], "big")]), zone)
        if reply is not None:
            try:
                conn.setblocking(True)
                conn.settimeout(0.5)
                conn.sendall(len(reply).to_bytes(2, "big") + reply)
            except OSError:
                pass
        return True

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        for sock, _ in self.socks.values():
            sock.close()
        os.close(self._stop_r)
        os.close(self._stop_w)


class _Relays:
    """What docker-proxy does for a published port, served from the responders' poll loop: a TCP client is
    accepted at once (its handshake succeeds whatever lies behind) and a connection to the upstream opened
    from the proxy's namespace; both are closed once that connection is made or refused. A UDP datagram
    goes upstream from a socket of its own per client, and what comes back goes to the client from the
    published port."""

    def __init__(self, poll: select.poll) -> None:
        self.poll = poll
        #: upstream fd -> (upstream socket, accepted client) for TCP; (upstream socket, listening socket,
        #: client address) for UDP
        self.tcp: dict[int, tuple[socket.socket, socket.socket]] = {}
        self.udp: dict[int, tuple[socket.socket, socket.socket, tuple[str, int]]] = {}
        self.udp_by_client: dict[tuple[int, tuple[str, int]], socket.socket] = {}

    def accept(self, sock: socket.socket, w: Listen) -> None:
        assert w.upstream is not None
        if w.proto == "tcp":
            client, _ = sock.accept()
            with nsthread.entered(w.netns):
                up = socket.socket(_family(w.upstream[0]), socket.SOCK_STREAM)
            up.setblocking(False)
            up.connect_ex(w.upstream)
            self.tcp[up.fileno()] = (up, client)
            self.poll.register(up.fileno(), select.POLLOUT)
            return
        data, peer = sock.recvfrom(2048)
        known = self.udp_by_client.get((sock.fileno(), peer))
        if known is None:
            with nsthread.entered(w.netns):
                known = socket.socket(_family(w.upstream[0]), socket.SOCK_DGRAM)
            known.setblocking(False)
            known.connect(w.upstream)
            self.udp_by_client[(sock.fileno(), peer)] = known
            self.udp[known.fileno()] = (known, sock, peer)
            self.poll.register(known.fileno(), select.POLLIN)
        known.send(data)

    def serve(self, fd: int) -> bool:
        """Handle an event on an upstream socket; False: `fd` is not one."""
        if fd in self.tcp:
            self.poll.unregister(fd)
            up, client = self.tcp.pop(fd)
            up.close()
            client.close()
            return True
        if fd in self.udp:
            up, sock, peer = self.udp[fd]
            with contextlib.suppress(OSError):  # refused upstream (ICMP port unreachable): docker-proxy drops it too
                sock.sendto(up.recv(2048), peer)
            return True
        return False

    def close(self) -> None:
        for up, client in self.tcp.values():
            up.close()
            client.close()
        for up, _, _ in self.udp.values():
            up.close()


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET
