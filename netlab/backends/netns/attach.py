"""Attaching containers to networks, driver by driver, the way Docker's drivers do it.

bridge   veth pair: `veth<7 hex>` enslaved to the node's bridge, `eth<i>` in the container
macvlan  a macvlan child of the node's uplink on the parent lan, born in the container as `eth<i>`
ipvlan   an ipvlan child (l2/l3/l3s) of the uplink; shares the parent's MAC
overlay  veth into the per-node overlay sandbox (br0 + vxlan0); remote containers are programmed
         into vxlan0 as static fdb + neighbour entries (no multicast learning)
Container interfaces get Docker 20.10's MAC (02:42 + IPv4 bytes) where Docker assigns one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from netlab import nsthread
from netlab.backends import naming
from netlab.backends.netns.links import Sessions, ipv6_on, mac_from_ip, netns_fd
from netlab.errors import DeployError, KernelFeatureMissing
from netlab.model import dockerrules
from netlab.model.deployed import Listen
from netlab.model.dockerrules import docker_order, gateway_attachment, shares_node_ns
from netlab.model.topology import GWBRIDGE, Attachment, Container, Driver, Network, Shim, Topology

VXLAN_PORT = 4789
OVERLAY_MTU = 1450  # 1500 - 50 bytes of VXLAN encapsulation


@dataclass(slots=True)
class Link:
    """Where a container's interface on a network hangs: a removable far end, and its own name."""

    far_ns: str | None  # namespace holding the far end (None: deleting the container side is enough)
    far_name: str | None
    ifname: str


@dataclass(slots=True)
class State:
    """What the backend remembers about a live deployment (handles stay out of the model)."""

    ns: dict[str, str] = field(default_factory=dict)  # object name -> namespace path
    links: dict[tuple[str, str], Link] = field(default_factory=dict)  # (container, network) -> link
    containers: dict[str, Container] = field(default_factory=dict)
    shims: dict[str, list[Shim]] = field(default_factory=dict)
    sessions: Sessions = field(default_factory=Sessions)
    firewall: str | None = None  # the iptables flavour that loaded the rules
    dns_ports: dict[str, tuple[int, int]] = field(default_factory=dict)  # container -> embedded DNS udp, tcp
    #: (node, proto, host port) -> (container, address, container port): where each published port lands
    published: dict[tuple[str, str, int], tuple[str, str, int]] = field(default_factory=dict)
    #: node -> the docker-proxy relays of its published ports (userland proxy on)
    proxies: dict[str, list[Listen]] = field(default_factory=dict)
    #: bridge ports in hairpin mode (Docker sets it when the userland proxy is off)
    hairpin: bool = False


def vni(t: Topology, net: Network) -> int:
    return dockerrules.vni(t, net)


def _free_ifname(st: State, c: Container) -> str:
    used = {link.ifname for key, link in st.links.items() if key[0] == c.name}
    return next(f"eth{i}" for i in range(64) if f"eth{i}" not in used)


def container(t: Topology, st: State, c: Container) -> None:
    if shares_node_ns(t, c) or c.joins:
        return
    for att in docker_order(t, c.attachments):
        connect(t, st, c, att)
    default_route(t, st, c)
    sysctls(st, c)


def sysctls(st: State, c: Container) -> None:
    """`--sysctl net.KEY=VALUE`: written in the container's namespace once its interfaces exist (as runc does,
    after Docker's network set-up), so keys naming eth0 work as they do on Docker."""
    for key, value in c.sysctls:
        try:
            nsthread.write_sysctls(st.ns[c.name], {key: value})
        except FileNotFoundError:
            raise KernelFeatureMissing(
                f"container {c.name!r}: sysctl {key}: this kernel has no such key in a network namespace "
                "(Docker fails the same way); remove it or check its spelling"
            ) from None
        except OSError as e:
            raise DeployError(
                f"container {c.name!r}: sysctl {key}={value}: the kernel refused it ({e.strerror})"
            ) from e


def connect(t: Topology, st: State, c: Container, att: Attachment) -> None:
    net = t.network(att.network)
    if net.driver in (Driver.HOST, Driver.NONE):
        return
    if att.address is None or net.subnet is None:
        raise DeployError(f"container {c.name!r}: no address on {net.name!r}")
    ifname = _free_ifname(st, c)
    if net.driver == Driver.BRIDGE:
        assert net.bridge_name
        # com.docker.network.driver.mtu: both ends of the veth, as Docker sets them (the bridge follows its ports)
        link = _veth(st, c, ifname, st.ns[c.node], net.bridge_name, att.address, mtu=net.mtu, hairpin=st.hairpin)
    elif net.driver == Driver.OVERLAY:
        link = _veth(st, c, ifname, st.ns[naming.sandbox(c.node, net.name)], "br0", att.address, mtu=OVERLAY_MTU)
    else:
        link = _child(t, st, c, net, ifname)
    st.links[(c.name, net.name)] = link
    ifindex = st.sessions(st.ns[c.name]).index(ifname)  # a lookup in the container's small namespace
    home = net.subnet_for(att.address) or net.subnet
    nl = st.sessions(st.ns[c.name])
    nl.addr(ifindex, att.address, home.prefixlen)
    address6 = net.v6_for(att)
    if address6 is not None and net.subnet6 is not None:  # dual stack: IPv6 on for this interface only
        ipv6_on(st.ns[c.name], ifname, "lo")
        nl.addr(ifindex, address6, net.subnet6.prefixlen)
    nl.up(ifindex)


def _veth(
    st: State,
    c: Container,
    ifname: str,
    far_ns: str,
    master: str,
    address: IPv4Address,
    mtu: int | None,
    hairpin: bool = False,
) -> Link:
    far = f"veth{secrets.token_hex(4)[:7]}"
    nl = st.sessions(far_ns)
    with netns_fd(st.ns[c.name]) as fd:
        # the far end's index is chosen, not looked up: a node namespace holds one veth per container
        idx = nl.veth(far, ifname, fd, peer_mac=mac_from_ip(address), mtu=mtu, index=st.sessions.new_index(far_ns))
    nl.up(idx, master=st.sessions.index(far_ns, master))
    if hairpin:
        nl.hairpin(idx)
    return Link(far_ns, far, ifname)


def _child(t: Topology, st: State, c: Container, net: Network, ifname: str) -> Link:
    """macvlan/ipvlan: created on the node under a temporary name, moved into the container and
    renamed there, as Docker's drivers do."""
    parent_name = t.parent_device(c.node, net.name)
    assert parent_name is not None
    tmp = f"veth{secrets.token_hex(4)[:7]}"
    with netns_fd(st.ns[c.name]) as fd, st.sessions.use(st.ns[c.node]) as nl:
        parent = nl.index(parent_name)
        if net.driver == Driver.MACVLAN:
            addr = next(a.address for a in c.attachments if a.network == net.name)
            assert addr is not None
            idx = nl.macvlan(parent, tmp, net.option("macvlan_mode", "bridge"), mac_from_ip(addr))
        else:
            idx = nl.ipvlan(parent, tmp, net.option("ipvlan_mode", "l2"))
        nl.move(idx, fd)
    with st.sessions.use(st.ns[c.name]) as nl:
        nl.rename(tmp, ifname)
    return Link(None, None, ifname)


def disconnect(t: Topology, st: State, c: Container, network: str) -> None:
    link = st.links.pop((c.name, network), None)
    if link is None:
        return
    if link.far_ns and link.far_name:
        with st.sessions.use(link.far_ns) as nl:
            nl.delete(link.far_name)
    else:
        with st.sessions.use(st.ns[c.name]) as nl:
            nl.delete(link.ifname)


def default_route(t: Topology, st: State, c: Container) -> None:
    """Set (or move, after a connect or disconnect) the container's default route as Docker does."""
    att = gateway_attachment(t, c)
    link = st.links.get((c.name, att.network)) if att is not None else None
    with st.sessions.use(st.ns[c.name]) as nl:
        if att is None or link is None:
            nl.default_route(None, None)
            return
        net = t.network(att.network)
        if net.driver == Driver.IPVLAN and net.option("ipvlan_mode", "l2") in ("l3", "l3s"):
            nl.default_route(None, nl.index(link.ifname))
            if net.ipv6:  # `default dev eth0` for IPv6 too (ipvlan_joinleave.go, defaultV6RouteCidr)
                nl.default_route6(None, nl.index(link.ifname))
        else:
            nl.default_route(net.gateway_for(att.address), None)
            if any(t.network(a.network).ipv6 for a in c.attachments):
                nl.default_route6(net.gateway6)  # the gateway network's, as Docker 20.10 picks one for both families


def overlay_sandbox(t: Topology, st: State, node: str, net: Network) -> None:
    """Docker's per-node overlay namespace: br0 with the gateway address, vxlan0 enslaved to it.
    vxlan0 is created from the node so its UDP socket stays on the node's underlay."""
    sandbox = st.ns[naming.sandbox(node, net.name)]
    assert net.subnet and net.gateway
    with st.sessions.use(sandbox) as nl:
        br = nl.bridge("br0", mtu=OVERLAY_MTU)
        nl.addr(br, net.gateway, net.subnet.prefixlen)
        nl.up(br)
    with netns_fd(sandbox) as fd, st.sessions.use(st.ns[node]) as nl:
        nl.vxlan("vxlan0", vni(t, net), VXLAN_PORT, fd, OVERLAY_MTU)
    with st.sessions.use(sandbox) as nl:
        nl.up(nl.index("vxlan0"), master=br)


def overlay_peers(t: Topology, st: State) -> None:
    """Program every node's vxlan0 with the containers of the same overlay on the other nodes, the
    way the overlay driver's peerAdd does: a permanent neighbour entry (IP -> MAC) and a static fdb
    entry (MAC -> remote node's underlay address)."""
    for net in (n for n in t.networks if n.driver == Driver.OVERLAY):
        members = [
            (c.node, a.address)
            for c in st.containers.values()
            for a in c.attachments
            if a.network == net.name and a.address is not None
        ]
        for node in {n for n, _ in members}:
            sandbox = st.ns[naming.sandbox(node, net.name)]
            with st.sessions.use(sandbox) as nl:
                vx = nl.index("vxlan0")
                for other, addr in members:
                    if other == node:
                        continue
                    underlay = _underlay(t, other)
                    mac = mac_from_ip(addr)
                    nl.neigh(vx, addr, mac)
                    nl.fdb(vx, mac, underlay)


def _underlay(t: Topology, node: str) -> IPv4Address:
    ups = t.uplinks_of(node)
    if not ups:
        raise DeployError(f"node {node!r} has no uplink for the overlay underlay")
    return ups[0].address


def shim(t: Topology, st: State, action: Shim) -> None:
    """The usual fix for "the host cannot reach its macvlan children": a macvlan interface of the
    host's own on the parent, in bridge mode, with routes to the children through it."""
    uplink = t.uplink(action.node, action.lan)
    if uplink is None:
        raise DeployError(f"shim: node {action.node!r} has no uplink on {action.lan!r}")
    name = f"{action.lan[:10]}-shim"
    lan = t.lan(action.lan)
    node_ns = st.ns[action.node]
    with st.sessions.use(node_ns) as nl:
        idx = nl.macvlan(nl.index(uplink.ifname), name, "bridge")
        nl.addr(idx, action.address, 32)
        nl.up(idx)
        for c in st.containers.values():
            for a in c.attachments:
                net = t.network(a.network)
                if c.node == action.node and net.driver == Driver.MACVLAN and net.parent == lan.name and a.address:
                    nl.route(IPv4Network(f"{a.address}/32"), None, oif=idx)
    st.shims.setdefault(action.node, []).append(action)


__all__ = ["GWBRIDGE", "State"]
