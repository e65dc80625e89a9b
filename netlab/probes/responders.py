"""TCP listeners and UDP echo responders planted by netlab in destination namespaces.

Nothing runs inside the endpoints: netlab creates the sockets in their namespaces and serves them
all from one thread of its own with poll, until the measurement is over.
"""

from __future__ import annotations

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

    def __init__(self, wanted: Iterable[Listen]) -> None:
        self.wanted = sorted(set(wanted), key=lambda w: (w.netns, w.proto, w.port, w.bind))
        self.socks: dict[int, tuple[socket.socket, str]] = {}
        self.zones: dict[int, dict[str, str]] = {}
        self.errors: dict[Listen, str] = {}
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="netlab-responders", daemon=True)

    def __enter__(self) -> Responders:
        for w in self.wanted:
            try:
                with nsthread.entered(w.netns):
                    if w.proto in ("tcp", "dnstcp"):
                        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                        s.bind((w.bind, w.port))
                        s.listen(1024)
                    else:
                        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        s.bind((w.bind, w.port))
                s.setblocking(False)
                self.socks[s.fileno()] = (s, w.proto)
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
                    sock, proto = self.socks[fd]
                    try:
                        if proto == "tcp":
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
