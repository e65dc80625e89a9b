"""Typed wrappers around pyroute2 for the few link operations netlab needs.

Each `Netlink` is opened inside one namespace (setns'd thread) and used only from that thread
(pyroute2 objects are thread-local: pitfall 12 of probe-engine.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from netlab.probes import nsthread

EEXIST = 17
ENODEV = 19
ESRCH = 3


class Netlink:
    def __init__(self, ipr: Any) -> None:
        self._ipr = ipr

    def index(self, ifname: str) -> int:
        found = self._ipr.link_lookup(ifname=ifname)
        if not found:
            raise LookupError(f"no interface {ifname!r}")
        return int(found[0])

    def bridge(self, ifname: str) -> int:
        self._ipr.link("add", ifname=ifname, kind="bridge", br_stp_state=0, br_forward_delay=0)
        return self.index(ifname)

    def veth(self, ifname: str, peer: str, peer_netns_fd: int) -> int:
        """Create a veth pair whose peer end is born in another namespace (no move, no rename)."""
        self._ipr.link("add", ifname=ifname, kind="veth", peer={"ifname": peer, "net_ns_fd": peer_netns_fd})
        return self.index(ifname)

    def up(self, index: int, master: int | None = None) -> None:
        if master is None:
            self._ipr.link("set", index=index, state="up")
        else:
            self._ipr.link("set", index=index, master=master, state="up")

    def addr(self, index: int, address: IPv4Address, prefixlen: int) -> None:
        try:
            self._ipr.addr("add", index=index, address=str(address), prefixlen=prefixlen)
        except NetlinkError as e:
            if e.code != EEXIST:
                raise

    def route(self, dst: IPv4Network | None, gateway: IPv4Address | None, oif: int | None = None) -> None:
        kw: dict[str, Any] = {}
        if dst is not None and dst.prefixlen > 0:
            kw["dst"] = str(dst)
        if gateway is not None:
            kw["gateway"] = str(gateway)
        if oif is not None:
            kw["oif"] = oif
        try:
            self._ipr.route("add", **kw)
        except NetlinkError as e:
            if e.code != EEXIST:
                raise

    def delete(self, ifname: str) -> None:
        """Delete a link (both ends of a veth). Already gone is fine."""
        found = self._ipr.link_lookup(ifname=ifname)
        if not found:
            return
        try:
            self._ipr.link("del", index=found[0])
        except NetlinkError as e:
            if e.code not in (ENODEV, ESRCH):
                raise


@contextmanager
def netlink_in(path: str) -> Iterator[Netlink]:
    """Enter the namespace at `path` and open a netlink socket there for the duration."""
    with nsthread.entered(path):
        ipr = IPRoute()
        try:
            yield Netlink(ipr)
        finally:
            ipr.close()
