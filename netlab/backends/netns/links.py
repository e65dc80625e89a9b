"""Typed wrappers around pyroute2 for the few link operations netlab needs.

Each `Netlink` is opened inside one namespace (setns'd thread) and used only from that thread
(pyroute2 objects are thread-local: pitfall 12 of probe-engine.md).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from errno import EEXIST, ENODEV, ENOENT, ESRCH
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

from netlab import nsthread
from netlab.kernel.pyroute import IPRoute, NetlinkError

NUD_NOARP = 0x40
NTF_SELF = 0x02
IFF_UP = 0x1
NUD_PERMANENT = 0x80
IFA_F_NODAD = 0x02  # linux/if_addr.h

MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}


RTPROT_BOOT = 3


def docker_random_mac() -> str:
    """A MAC the way Docker 20.10 gives its bridges one: the 02:42 prefix, four random bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in os.urandom(4))


def mac_from_ip(addr: IPv4Address) -> str:
    """Docker 20.10's GenerateMACFromIP: 02:42 followed by the four address bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)


@contextmanager
def netns_fd(path: str) -> Iterator[int]:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def ipv6_on(netns: str, *ifnames: str) -> None:
    """Turn IPv6 on for these interfaces of a namespace (netlab creates every namespace with IPv6 off:
    namespaces.NO_IPV6), as an interface of a dual-stack network or lan has it."""
    nsthread.write_sysctls(netns, {f"net.ipv6.conf.{name}.disable_ipv6": "0" for name in ifnames})


class Netlink:
    def __init__(self, ipr: Any) -> None:
        self._ipr = ipr

    def index(self, ifname: str) -> int:
        found = self._ipr.link_lookup(ifname=ifname)
        if not found:
            raise LookupError(f"no interface {ifname!r}")
        return int(found[0])

    def exists(self, ifname: str) -> bool:
        return bool(self._ipr.link_lookup(ifname=ifname))

    def bridge(self, ifname: str, mtu: int | None = None, mac: str | None = None) -> int:
        kw: dict[str, Any] = {"mtu": mtu} if mtu else {}
        if mac:
            kw["address"] = mac
        self._ipr.link("add", ifname=ifname, kind="bridge", br_stp_state=0, br_forward_delay=0, **kw)
        return self.index(ifname)

    def veth(
        self,
        ifname: str,
        peer: str,
        peer_netns_fd: int,
        peer_mac: str | None = None,
        mtu: int | None = None,
        index: int | None = None,
    ) -> int:
        """Create a veth pair whose peer end is born in another namespace (no move, no rename).
        With `index` the kernel numbers this end as asked, so no lookup is needed."""
        spec: dict[str, Any] = {"ifname": peer, "net_ns_fd": peer_netns_fd}
        if peer_mac:
            spec["address"] = peer_mac
        kw: dict[str, Any] = {"mtu": mtu} if mtu else {}
        if mtu:
            spec["mtu"] = mtu
        if index:
            kw["index"] = index
        self._ipr.link("add", ifname=ifname, kind="veth", peer=spec, **kw)
        return index or self.index(ifname)

    def macvlan(self, parent: int, ifname: str, mode: str, mac: str | None = None) -> int:
        """A macvlan child of `parent`, created here (Docker creates it in the host namespace and
        moves it into the container: see `move`)."""
        kw: dict[str, Any] = {"address": mac} if mac else {}
        self._ipr.link("add", ifname=ifname, kind="macvlan", link=parent, macvlan_mode=MACVLAN_MODES[mode], **kw)
        return self.index(ifname)

    def vlan(self, parent: int, ifname: str, vid: int) -> int:
        """An 802.1Q sub-interface of `parent` for VLAN `vid` (Docker's for a `parent=eth0.50`)."""
        self._ipr.link("add", ifname=ifname, kind="vlan", link=parent, vlan_id=vid)
        return self.index(ifname)

    def dummy(self, ifname: str) -> int:
        """A dummy link (Docker's parent for a macvlan or ipvlan network given none)."""
        self._ipr.link("add", ifname=ifname, kind="dummy")
        return self.index(ifname)

    def ipvlan(self, parent: int, ifname: str, mode: str) -> int:
        self._ipr.link("add", ifname=ifname, kind="ipvlan", link=parent, ipvlan_mode=IPVLAN_MODES[mode])
        return self.index(ifname)

    def move(self, index: int, target_fd: int) -> None:
        """Move a link into another namespace (it keeps its name there; rename it with `rename`).
        Children created straight into a container under their final name would collide on the
        parent's sysfs `upper_<name>` links on older kernels (6.1 gives EEXIST)."""
        self._ipr.link("set", index=index, net_ns_fd=target_fd)

    def rename(self, old: str, new: str) -> int:
        idx = self.index(old)
        self._ipr.link("set", index=idx, ifname=new)
        return idx

    def vxlan(self, ifname: str, vni: int, port: int, target_fd: int, mtu: int) -> None:
        """A vxlan device whose UDP socket stays in this namespace (the node), born in `target_fd`.

        Flags as Docker's overlay driver sets them: learning, proxy (ARP answered from the
        neighbour table), l2miss/l3miss."""
        self._ipr.link(
            "add",
            ifname=ifname,
            kind="vxlan",
            vxlan_id=vni,
            vxlan_port=port,
            vxlan_learning=1,
            vxlan_proxy=1,
            vxlan_l2miss=1,
            vxlan_l3miss=1,
            mtu=mtu,
            net_ns_fd=target_fd,
        )

    def up(self, index: int, master: int | None = None) -> None:
        if master is None:
            self._ipr.link("set", index=index, state="up")
        else:
            self._ipr.link("set", index=index, master=master, state="up")

    def hairpin(self, index: int) -> None:
        """Let the bridge send a frame back out of the port it came in by (a bridge port's hairpin mode)."""
        self._ipr.brport("set", index=index, mode=1)

    def addr(self, index: int, address: IPv4Address | IPv6Address, prefixlen: int) -> None:
        """Add an address; an IPv6 one without duplicate address detection (no second of tentative state: the
        run numbers every address itself). The interface's IPv6 must be on (ipv6_on)."""
        kw: dict[str, Any] = {"flags": IFA_F_NODAD} if address.version == 6 else {}
        try:
            self._ipr.addr("add", index=index, address=str(address), prefixlen=prefixlen, **kw)
        except NetlinkError as e:
            if e.code != EEXIST:
                raise

    def route(
        self,
        dst: IPv4Network | IPv6Network | None,
        gateway: IPv4Address | IPv6Address | None,
        oif: int | None = None,
    ) -> None:
        # pyroute2 0.9 defaults to AF_UNSPEC and to proto static; Docker (and `ip route add`) leave the
        # kernel's default, RTPROT_BOOT, which is what route evidence then shows on both backends
        six = (dst is not None and dst.version == 6) or (gateway is not None and gateway.version == 6)
        kw: dict[str, Any] = {"family": socket.AF_INET6 if six else socket.AF_INET, "proto": RTPROT_BOOT}
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

    def default_route(self, gateway: IPv4Address | None, oif: int | None) -> None:
        """Make the default route this one (via `gateway`, or straight out of `oif`), replacing any; with
        neither, remove it (a container left without a gateway network)."""
        kw: dict[str, Any] = {"family": socket.AF_INET, "proto": RTPROT_BOOT, "dst": "0.0.0.0/0"}
        if gateway is None and oif is None:
            try:
                self._ipr.route("del", family=socket.AF_INET, dst="0.0.0.0/0")
            except NetlinkError as e:
                if e.code != ESRCH:
                    raise
            return
        if gateway is not None:
            kw["gateway"] = str(gateway)
        if oif is not None:
            kw["oif"] = oif
        self._ipr.route("replace", **kw)

    def default_route6(self, gateway: IPv6Address | None, oif: int | None = None) -> None:
        """Make the IPv6 default route go via `gateway` (or straight out of `oif`), replacing any; with neither,
        remove it."""
        if oif is not None:
            self._ipr.route("replace", family=socket.AF_INET6, proto=RTPROT_BOOT, dst="::/0", oif=oif)
            return
        if gateway is None:
            try:
                self._ipr.route("del", family=socket.AF_INET6, dst="::/0")
            except NetlinkError as e:
                if e.code not in (ESRCH, ENOENT):  # none to remove (IPv6 says ENOENT where IPv4 says ESRCH)
                    raise
            return
        self._ipr.route("replace", family=socket.AF_INET6, proto=RTPROT_BOOT, dst="::/0", gateway=str(gateway))

    def neigh(self, index: int, address: IPv4Address, mac: str) -> None:
        """A permanent neighbour (ARP) entry, as Docker's overlay driver programs for remote peers."""
        self._ipr.neigh("replace", ifindex=index, dst=str(address), lladdr=mac, state=NUD_PERMANENT)

    def fdb(self, index: int, mac: str, dst: IPv4Address) -> None:
        """A static forwarding entry on a vxlan device: frames for `mac` go to the node at `dst`."""
        self._ipr.fdb(
            "append", ifindex=index, lladdr=mac, dst=str(dst), state=NUD_PERMANENT | NUD_NOARP, flags=NTF_SELF
        )

    def not_ready(self) -> list[str]:
        """Links that are up but cannot carry packets yet: until the kernel's linkwatch activates
        a device (up to a second after a burst of link changes) its qdisc is `noop`, which
        drops everything sent."""
        waiting = []
        for link in self._ipr.get_links():
            if link["flags"] & IFF_UP and link.get_attr("IFLA_QDISC") == "noop":
                waiting.append(str(link.get_attr("IFLA_IFNAME")))
        return waiting

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


class Sessions:
    """Netlink sockets kept open per namespace while a deployment is built, one open per namespace
    instead of one per operation. Created and used by one thread only (pyroute2 objects are
    thread-local); each socket stays in the namespace it was opened in."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[Any, Netlink]] = {}
        self._indices: dict[tuple[str, str], int] = {}
        self._next: dict[str, int] = {}

    def __call__(self, path: str) -> Netlink:
        if path not in self._open:
            with nsthread.entered(path):
                ipr = IPRoute()
            self._open[path] = (ipr, Netlink(ipr))
        return self._open[path][1]

    @contextmanager
    def use(self, path: str) -> Iterator[Netlink]:
        """`with sessions.use(path) as nl:` reads like netlink_in but keeps the socket open."""
        yield self(path)

    def index(self, path: str, ifname: str) -> int:
        """A link's index, looked up once per namespace."""
        key = (path, ifname)
        if key not in self._indices:
            self._indices[key] = self(path).index(ifname)
        return self._indices[key]

    def new_index(self, path: str) -> int:
        """An interface index for a link netlink creates in `path` (from 1000 up: clear of the kernel's)."""
        self._next[path] = self._next.get(path, 999) + 1
        return self._next[path]

    def close(self) -> None:
        for ipr, _ in self._open.values():
            ipr.close()
        self._open.clear()
        self._indices.clear()


@contextmanager
def netlink_in(path: str) -> Iterator[Netlink]:
    """Enter the namespace at `path` and open a netlink socket there for the duration."""
    with nsthread.entered(path):
        ipr = IPRoute()
        try:
            yield Netlink(ipr)
        finally:
            ipr.close()
