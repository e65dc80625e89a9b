"""What netlab builds on this machine around the Docker hosts, as the netns backend does: the lans and
peers (namespaces), each node's uplink on its lans, and the run's own resolver, the upstream DNS server
every container gets so that no query reaches the machine's resolver."""

from __future__ import annotations

from ipaddress import IPv4Network

from netlab.backends import namespaces, naming
from netlab.backends.base import Deployment
from netlab.backends.docker.state import ROOT_NS, state
from netlab.backends.namespaces import Role
from netlab.backends.netns import lan as lans
from netlab.backends.netns.links import ipv6_on, netlink_in, netns_fd
from netlab.errors import EnvironmentProblem
from netlab.kernel import hoststate

RESOLVER_BLOCK = IPv4Network("198.19.192.0/18")  # /30s for the run's resolver link, one per run


def netns(dep: Deployment, obj: str, role: Role) -> str:
    path = namespaces.create(dep.journal, dep.run, obj, role)
    with netlink_in(path) as nl:
        nl.up(nl.index("lo"))
    return path


def uplinks(dep: Deployment) -> None:
    """The node's uplinks are veths in the root namespace, one per lan, created by this run."""
    t, st = dep.topology, state(dep)
    for i, u in enumerate(t.uplinks):
        if st.private:
            st.uplinks[(u.node, u.lan)] = u.ifname  # inside the node's own namespace
            continue
        name = f"{naming.PREFIX}{dep.run}u{i}"
        st.uplinks[(u.node, u.lan)] = name
        dep.journal.record("link", name)
    lans.build(t, st.ns, lambda u: (st.uplinks[(u.node, u.lan)], st.node_ns[u.node]))
    for u in t.uplinks:
        with netlink_in(st.node_ns[u.node]) as nl:
            idx = nl.index(st.uplinks[(u.node, u.lan)])
            on = t.lan(u.lan)
            nl.addr(idx, u.address, on.subnet.prefixlen)
            address6 = on.v6_of(u.address)
            if address6 is not None and on.subnet6 is not None:  # a dual-stack lan (the node is one of the run's)
                ipv6_on(st.node_ns[u.node], st.uplinks[(u.node, u.lan)])
                nl.addr(idx, address6, on.subnet6.prefixlen)
            nl.up(idx)
            if not st.private:
                for subnet in off_lan_subnets(dep, u.lan):
                    nl.route(subnet, None, oif=idx)


def off_lan_subnets(dep: Deployment, lan: str) -> list[IPv4Network]:
    """The subnets of macvlan/ipvlan networks on `lan` that are not the lan's own (`--subnet A --subnet B`, or a
    network on another subnet than its parent's). This machine has no route to them, so its packets for them would
    follow its default route out of a real NIC: a route through the run's uplink keeps them on the lan (it goes
    with the uplink). Their cells are unreachable either way: no router of the run serves those subnets."""
    t = dep.topology
    own = t.lan(lan).subnet
    vlans = [x for x in t.lans if x.trunk == lan]  # VLANs on this wire: their subnets (peers, children) too
    out = [x.subnet for x in vlans if not x.subnet.subnet_of(own)]
    on_wire = {lan, *(x.name for x in vlans)}
    out += [
        subnet
        for net in t.networks
        if net.parent in on_wire and net.driver.value in ("macvlan", "ipvlan")
        for subnet in net.subnets
        if not subnet.subnet_of(own) and subnet not in out
    ]
    return out


def resolver(dep: Deployment) -> None:
    """The run's own DNS upstream: a namespace on a /30 link from the root namespace."""
    st, t = state(dep), dep.topology
    st.ns[naming.DNS] = netns(dep, naming.DNS, Role.PLAIN)
    if st.private and not t.lans:
        # nodes are namespaces and no lan joins them: the resolver hangs off the first node on a /30 of its own
        # (inside the node's namespace, removed with it)
        host_ip, ns_ip = list(_resolver_link(dep.run).hosts())
        with netns_fd(st.ns[naming.DNS]) as fd, netlink_in(st.node_ns[t.nodes[0].name]) as nl:
            idx = nl.veth("dns", "eth0", fd)
            nl.addr(idx, host_ip, 30)
            nl.up(idx)
        with netlink_in(st.ns[naming.DNS]) as nl:
            idx = nl.index("eth0")
            nl.addr(idx, ns_ip, 30)
            nl.up(idx)
        st.resolver = ns_ip
        return
    if st.private:
        # nodes are namespaces: the resolver sits on the first lan like a server of the site
        lan = t.lans[0]
        used = {u.address for u in t.uplinks} | {a for p in t.peers for _, a in p.addresses}
        ns_ip = next(a for a in reversed(list(lan.subnet.hosts())) if a not in used)
        with netns_fd(st.ns[naming.DNS]) as fd, netlink_in(st.ns[lan.name]) as nl:
            idx = nl.veth("dns", "eth0", fd)
            nl.up(idx, master=nl.index(lan.name))
        with netlink_in(st.ns[naming.DNS]) as nl:
            idx = nl.index("eth0")
            nl.addr(idx, ns_ip, lan.subnet.prefixlen)
            nl.up(idx)
        st.resolver = ns_ip
        return
    link = _resolver_link(dep.run)
    host_ip, ns_ip = list(link.hosts())
    name = f"{naming.PREFIX}{dep.run}r"
    dep.journal.record("link", name)
    with netns_fd(st.ns[naming.DNS]) as fd, netlink_in(ROOT_NS) as nl:
        idx = nl.veth(name, "eth0", fd)
        nl.addr(idx, host_ip, link.prefixlen)
        nl.up(idx)
    with netlink_in(st.ns[naming.DNS]) as nl:
        idx = nl.index("eth0")
        nl.addr(idx, ns_ip, link.prefixlen)
        nl.up(idx)
    st.resolver = ns_ip


def _resolver_link(run: str) -> IPv4Network:
    """A /30 for the resolver link, derived from the run id and clear of the host's routes."""
    links = list(RESOLVER_BLOCK.subnets(new_prefix=30))
    used = [net for net, _ in hoststate.host_networks()]
    start = int(run, 16) % len(links)
    for i in range(len(links)):
        cand = links[(start + i) % len(links)]
        if not any(cand.overlaps(r) for r in used):
            return cand
    raise EnvironmentProblem(f"no free /30 in {RESOLVER_BLOCK} for the run's resolver")
