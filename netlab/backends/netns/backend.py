"""The netns backend: Docker's kernel objects built directly with pyroute2, no Docker involved.

Everything lives in namespaces named nl<run>-<object>; the root namespace is never modified.
  node  (a simulated Docker host): one namespace; its uplinks eth0.. on the lans; Docker's bridges,
        veth host ends, sysctls and the iptables rules Docker 20.10 writes.
  lan   one namespace holding a Linux bridge named after the lan; uplinks and peers plug into it.
  peer  one namespace with eth0 on its lan.
  container  one namespace (host driver: the node's own; none: loopback only).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from netlab import faults
from netlab.backends import journal as journals
from netlab.backends import naming
from netlab.backends.base import Address, Deployment, Endpoint
from netlab.backends.journal import Journal, RunRecord
from netlab.backends.netns import dockerfw
from netlab.backends.netns.links import Netlink, netlink_in
from netlab.errors import DeployError, EnvironmentProblem, KernelFeatureMissing
from netlab.model.results import Observation
from netlab.model.topology import (
    Connect,
    Container,
    Disconnect,
    Driver,
    EndpointKind,
    Network,
    Route,
    Shim,
    Stage,
    Topology,
)
from netlab.probes import matrix, nsthread

SUPPORTED = {Driver.BRIDGE, Driver.HOST, Driver.NONE}


@dataclass(slots=True)
class _State:
    """What the backend needs to remember about a live deployment (handles stay out of the model)."""

    ns: dict[str, str] = field(default_factory=dict)  # object name -> namespace path
    veths: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (ctr, net) -> (host end, ctr end)
    containers: dict[str, Container] = field(default_factory=dict)


def _state(dep: Deployment) -> _State:
    st = dep.state["netns"]
    assert isinstance(st, _State)
    return st


class NetnsBackend:
    name = "netns"

    # -- check ----------------------------------------------------------
    def check(self, topology: Topology | None) -> None:
        if os.geteuid() != 0:
            raise EnvironmentProblem("the netns backend needs root (it creates network namespaces): run netlab as root")
        for tool, pkg in (("iptables-restore", "iptables"),):
            if shutil.which(tool) is None:
                raise EnvironmentProblem(f"{tool} not found: install it (apt-get install {pkg})")
        if topology is None:
            return
        for net in topology.networks:
            if net.driver not in SUPPORTED and self._used(topology, net):
                raise KernelFeatureMissing(
                    f"network {net.name!r}: the {net.driver} driver is not available in the netns backend yet"
                )

    @staticmethod
    def _used(topology: Topology, net: Network) -> bool:
        return any(net in topology.networks_on(n.name) for n in topology.nodes)

    # -- deploy -----------------------------------------------------------
    def deploy(self, topology: Topology, run: str, journal: Journal) -> Deployment:
        dep = Deployment(run=run, backend=self.name, topology=topology, journal=journal)
        st = _State()
        dep.state["netns"] = st
        t = topology
        try:
            for obj in [*(n.name for n in t.nodes), *(lan.name for lan in t.lans), *(p.name for p in t.peers)]:
                st.ns[obj] = self._netns(dep, obj)
            for c in t.containers:
                if not self._shares_node_ns(t, c):
                    st.ns[c.name] = self._netns(dep, c.name)
            self._lans(dep)
            for node in t.nodes:
                self._node(dep, node.name)
            for c in t.containers:
                st.containers[c.name] = c
                self._container(dep, c)
            for node in t.nodes:
                self._firewall(dep, node.name)
            self._endpoints(dep)
        except (OSError, subprocess.SubprocessError, LookupError) as e:
            raise DeployError(f"netns backend: deploying {t.name!r} failed: {e}") from e
        except Exception as e:
            if type(e).__module__.startswith("pyroute2"):
                raise DeployError(f"netns backend: deploying {t.name!r} failed: netlink: {e}") from e
            raise
        return dep

    def _netns(self, dep: Deployment, obj: str) -> str:
        name = naming.ns_name(dep.run, obj)
        dep.journal.record("netns", name)
        path = nsthread.create(name)
        faults.point("netns.created")
        with nsthread.entered(path):
            for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"):
                with contextlib.suppress(OSError):  # kernel without IPv6: nothing to silence
                    nsthread.write_sysctl(key, "1")
        with netlink_in(path) as nl:
            nl.up(nl.index("lo"))
        return path

    @staticmethod
    def _shares_node_ns(t: Topology, c: Container) -> bool:
        return any(t.network(a.network).driver == Driver.HOST for a in c.attachments)

    def _lans(self, dep: Deployment) -> None:
        t, st = dep.topology, _state(dep)
        for lan in t.lans:
            with netlink_in(st.ns[lan.name]) as nl:
                br = nl.bridge(lan.name)
                nl.up(br)
                for u in t.uplinks:
                    if u.lan == lan.name:
                        self._plug(nl, br, u.node, u.ifname, st.ns[u.node])
                for p in t.peers:
                    if p.lan == lan.name:
                        self._plug(nl, br, p.name, "eth0", st.ns[p.name])
        for p in t.peers:
            with netlink_in(st.ns[p.name]) as nl:
                idx = nl.index("eth0")
                nl.addr(idx, p.address, t.lan(p.lan).subnet.prefixlen)
                nl.up(idx)

    @staticmethod
    def _plug(nl: Netlink, br: int, port: str, far_name: str, far_ns: str) -> None:
        fd = os.open(far_ns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            idx = nl.veth(port, far_name, fd)
        finally:
            os.close(fd)
        nl.up(idx, master=br)

    def _node(self, dep: Deployment, node: str) -> None:
        t, st = dep.topology, _state(dep)
        with netlink_in(st.ns[node]) as nl:
            # what dockerd does at start: forwarding on (so FORWARD policy DROP), br_netfilter on
            nsthread.write_sysctl("net.ipv4.ip_forward", "1")
            try:
                nsthread.write_sysctl("net.bridge.bridge-nf-call-iptables", "1")
            except OSError as e:
                raise KernelFeatureMissing(
                    "br_netfilter: /proc/sys/net/bridge is missing, Docker's bridge rules cannot "
                    "filter bridged traffic; load it with `modprobe br_netfilter`"
                ) from e
            for u in t.uplinks_of(node):
                idx = nl.index(u.ifname)
                nl.addr(idx, u.address, t.lan(u.lan).subnet.prefixlen)
                nl.up(idx)
            for net in t.networks_on(node):
                if net.driver == Driver.BRIDGE:
                    assert net.bridge_name and net.gateway and net.subnet
                    br = nl.bridge(net.bridge_name)
                    nl.addr(br, net.gateway, net.subnet.prefixlen)
                    nl.up(br)

    def _container(self, dep: Deployment, c: Container) -> None:
        t, st = dep.topology, _state(dep)
        if self._shares_node_ns(t, c):
            return
        for att in c.attachments:
            net = t.network(att.network)
            if net.driver == Driver.BRIDGE:
                self._attach_bridge(dep, c, net, att.address)
        gw = self._gateway(t, c)
        if gw is not None:
            with netlink_in(st.ns[c.name]) as nl:
                nl.route(None, gw)

    @staticmethod
    def _gateway(t: Topology, c: Container) -> IPv4Address | None:
        """Docker takes the default gateway from the first network that provides one."""
        for att in c.attachments:
            net = t.network(att.network)
            if net.driver == Driver.BRIDGE and net.gateway is not None:
                return net.gateway
        return None

    def _attach_bridge(self, dep: Deployment, c: Container, net: Network, address: IPv4Address | None) -> None:
        st = _state(dep)
        used = {v[1] for k, v in st.veths.items() if k[0] == c.name}
        ctr_if = next(f"eth{i}" for i in range(64) if f"eth{i}" not in used)
        host_if = naming.veth_name(dep.run, "")
        assert net.bridge_name and net.subnet and address
        fd = os.open(st.ns[c.name], os.O_RDONLY | os.O_CLOEXEC)
        try:
            with netlink_in(st.ns[c.node]) as nl:
                idx = nl.veth(host_if, ctr_if, fd)
                nl.up(idx, master=nl.index(net.bridge_name))
        finally:
            os.close(fd)
        st.veths[(c.name, net.name)] = (host_if, ctr_if)
        with netlink_in(st.ns[c.name]) as nl:
            idx = nl.index(ctr_if)
            nl.addr(idx, address, net.subnet.prefixlen)
            nl.up(idx)

    def _firewall(self, dep: Deployment, node: str) -> None:
        t, st = dep.topology, _state(dep)
        published = []
        for c in st.containers.values():
            if c.node != node or not c.publish or self._shares_node_ns(t, c):
                continue
            first = c.attachments[0] if c.attachments else None
            if first is None or first.address is None:
                continue
            for p in c.publish:
                published.append(dockerfw.Published(t.network(first.network), first.address, p))
        rules = dockerfw.render(t.networks_on(node), published)
        faults.point("netns.firewall")
        try:
            nsthread.run(st.ns[node], ["iptables-restore"], stdin=rules)
        except subprocess.CalledProcessError as e:
            raise KernelFeatureMissing(
                f"node {node!r}: iptables-restore refused Docker's rules ({e.stderr.strip()}); "
                "the kernel may lack nf_tables/xt matches (addrtype, conntrack, MASQUERADE)"
            ) from e

    def _endpoints(self, dep: Deployment) -> None:
        t, st = dep.topology, _state(dep)
        eps: dict[str, Endpoint] = {}
        for node in t.nodes:
            addrs = [Address(u.lan, f"lan:{u.lan}", u.address) for u in t.uplinks_of(node.name)]
            for net in t.networks_on(node.name):
                if net.driver == Driver.BRIDGE and net.gateway is not None:
                    addrs.append(Address(net.name, f"{node.name}/{net.name}", net.gateway))
            eps[node.name] = Endpoint(node.name, EndpointKind.HOST, node.name, st.ns[node.name], addrs)
        for c in st.containers.values():
            if self._shares_node_ns(t, c):
                node_ep = eps[c.node]
                eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, node_ep.netns, list(node_ep.addresses))
                continue
            addrs = [
                Address(a.network, f"{c.node}/{a.network}", a.address) for a in c.attachments if a.address is not None
            ]
            eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, st.ns[c.name], addrs)
        for p in t.peers:
            eps[p.name] = Endpoint(
                p.name, EndpointKind.PEER, None, st.ns[p.name], [Address(p.lan, f"lan:{p.lan}", p.address)]
            )
        dep.endpoints = {name: eps[name] for name in t.endpoint_names()}

    # -- stages -----------------------------------------------------------
    def apply(self, dep: Deployment, stage_index: int) -> None:
        t, st = dep.topology, _state(dep)
        stage = t.stages[stage_index]
        touched_nodes: set[str] = set()
        for action in stage.actions:
            if isinstance(action, Route):
                path = dep.endpoints[action.target].netns
                assert path is not None
                with netlink_in(path) as nl:
                    nl.route(action.subnet, action.via)
            elif isinstance(action, Connect):
                c = st.containers[action.container]
                net = t.network(action.network)
                if net.driver != Driver.BRIDGE:
                    raise DeployError(f"connect {c.name} to {net.name}: only bridge networks can be connected")
                had_gateway = self._gateway(t, c) is not None
                self._attach_bridge(dep, c, net, action.address)
                st.containers[c.name] = t.containers_at(stage_index)[self._index(t, c.name)]
                if not had_gateway and net.gateway is not None:
                    with netlink_in(st.ns[c.name]) as nl:
                        nl.route(None, net.gateway)
                touched_nodes.add(c.node)
            elif isinstance(action, Disconnect):
                c = st.containers[action.container]
                host_if, _ = st.veths.pop((c.name, action.network), ("", ""))
                if host_if:
                    with netlink_in(st.ns[c.node]) as nl:
                        nl.delete(host_if)
                st.containers[c.name] = t.containers_at(stage_index)[self._index(t, c.name)]
                gw = self._gateway(t, st.containers[c.name])
                if gw is not None:
                    with netlink_in(st.ns[c.name]) as nl:
                        nl.route(None, gw)
                touched_nodes.add(c.node)
            elif isinstance(action, Shim):
                raise DeployError("shim: macvlan shims arrive with the macvlan driver (issue 3)")
        for node in sorted(touched_nodes):
            self._firewall(dep, node)
        dep.stage_index = stage_index
        self._endpoints(dep)

    @staticmethod
    def _index(t: Topology, name: str) -> int:
        return [c.name for c in t.containers].index(name)

    def measure(self, dep: Deployment, stage: Stage, timeout: float) -> list[Observation]:
        return matrix.measure(dep, stage, timeout=timeout)

    # -- teardown ---------------------------------------------------------
    def destroy(self, dep: Deployment) -> None:
        """Remove every namespace the journal names, including those of a deploy that died half-way.

        Links live inside the run's namespaces and vanish with them; the root namespace holds nothing.
        """
        self.cleanup(journals.read(dep.journal.path))

    def cleanup(self, record: RunRecord) -> list[str]:
        removed = []
        for entry in reversed(record.entries):
            owned = entry.kind == "netns" and entry.name.startswith(naming.run_prefix(record.run))
            if owned and nsthread.remove(entry.name):
                removed.append(f"netns {entry.name}")
        return removed
