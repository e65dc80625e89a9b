"""The cni backend: a scenario's containers given their networks by Kubernetes' CNI reference plugins (Debian's
containernetworking-plugins), called as a container runtime calls them for a pod, into namespaces netlab made.

Nodes, lans, peers and container namespaces are the netns backend's (backends/netns); what differs is who
builds the container side: for every attachment of a container the network's plugin list (conflist.py) is
ADDed (plugins.py), the plugins running inside the node's namespace, so their bridges, veth ends, ip_forward
and iptables rules land there. No Docker rule is written: the node's firewall holds what the plugins added
(the evidence shows exactly that, against the empty ruleset of a fresh namespace), and containers get no
resolver (the reference plugins configure none; a runtime's cluster DNS is not part of them).

Every ADD is journalled before it runs; teardown and `netlab clean` DEL them in reverse before the namespaces go.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from netlab import faults, nsthread, safety
from netlab.backends import journal as journals
from netlab.backends import namespaces, naming
from netlab.backends.base import NO_HOOKS, Deployment, Hooks
from netlab.backends.cni import conflist, plugins
from netlab.backends.journal import Journal, RunRecord
from netlab.backends.namespaces import Role
from netlab.backends.netns.attach import State
from netlab.backends.netns.backend import LOOPBACK_IFINDEX, NetnsBackend, route
from netlab.backends.netns.lan import forward
from netlab.backends.netns.links import ipv6_on
from netlab.errors import DeployError, EnvironmentProblem
from netlab.kernel import features
from netlab.model import dockerrules
from netlab.model.topology import Connect, Container, Disconnect, Driver, Forward, Route, Shim, Topology, UserRule

#: netlab makes every namespace with IPv6 off (namespaces.NO_IPV6); where a dual-stack network's plugins make links
IPV6_DEFAULT = {"net.ipv6.conf.default.disable_ipv6": "0"}
#: how long a dual-stack deployment waits for duplicate address detection on the addresses the plugins add
DAD_WAIT_S = 3.0
#: the journal's kinds: one ADD (its configuration list and attachment, to DEL it), the run's plugin state directory
ADD, STATE_DIR = "cni", "cni-dir"


@dataclass(slots=True)
class CniState:
    path: str  # the plugins' directory (CNI_PATH)
    data: str  # the run's own directory: host-local leases, iptables-legacy's lock
    #: (container, network) -> the configuration list, the attachment and the plugins' final result
    attached: dict[tuple[str, str], tuple[dict[str, Any], plugins.Attachment, dict[str, Any]]] = field(
        default_factory=dict
    )

    @property
    def lock(self) -> str:
        return os.path.join(self.data, "xtables.lock")


def _cni(dep: Deployment) -> CniState:
    st = dep.state["cni"]
    assert isinstance(st, CniState)
    return st


def _st(dep: Deployment) -> State:
    st = dep.state["netns"]
    assert isinstance(st, State)
    return st


def plugins_iptables() -> str:
    """The flavour of the `iptables` the plugins run (the first on PATH): iptables-nft on Debian, iptables-legacy in
    a user-mode Linux guest (kernel/uml.py) or where the machine's alternatives choose it."""
    try:
        said = subprocess.run(["iptables", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "iptables-nft"
    return "iptables-legacy" if "legacy" in said else "iptables-nft"


def used_networks(t: Topology) -> list[str]:
    """The networks some container is attached to at some stage (Docker's predefined ones only when used)."""
    names = {a.network for i in range(len(t.stages)) for c in t.containers_at(i) for a in c.attachments}
    return [n.name for n in t.networks if n.name in names]


class CniBackend(NetnsBackend):
    name = "cni"

    def __init__(self) -> None:
        super().__init__(forward_policy="accept", engine="29-nftables", chosen="CNI")

    # -- check ----------------------------------------------------------
    def check(self, topology: Topology | None) -> None:
        safety.require_privileges("the cni backend")
        if shutil.which("iptables") is None:
            raise EnvironmentProblem("iptables not found: the CNI plugins run it (apt-get install iptables)")
        if topology is None:
            plugins.plugin_dir(["bridge", "host-local"])
            return
        types: set[str] = set()
        for name in used_networks(topology):
            net = topology.network(name)
            if net.driver in (Driver.HOST, Driver.NONE):
                continue
            why = conflist.expressible(net)
            if net.external:
                why = "it is an existing Docker network"
            if why:
                raise EnvironmentProblem(
                    f"network {name!r} cannot run on the cni backend: {why}; run it with --backend netns or docker"
                )
            types |= set(conflist.PLUGINS[net.driver])
        if any(isinstance(a, UserRule) for stage in topology.stages for a in stage.actions):
            raise EnvironmentProblem(
                "docker_user rules: CNI's plugins have no DOCKER-USER chain; run the scenario with --backend netns"
            )
        plugins.plugin_dir(sorted(types or {"bridge"}))
        features.require(features.link_kinds_needed(topology))
        features.require_neighbour_room(topology)

    # -- deploy -----------------------------------------------------------
    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        dep = Deployment(run=run, backend=self.name, topology=topology, journal=journal, hooks=hooks)
        t = topology
        path = plugins.plugin_dir(
            sorted({p for n in used_networks(t) for p in conflist.PLUGINS.get(t.network(n).driver, ())}) or ["bridge"]
        )
        data = os.path.join(os.path.dirname(journal.path), f"{run}.cni")
        journal.record(STATE_DIR, data)
        os.makedirs(data, mode=0o700, exist_ok=False)
        dep.facts.update(
            engine=f"cni: the CNI reference plugins in {path}",
            engine_profile="cni",
            engine_kind="cni",  # no Docker Engine: a scenario's Docker-version expectations are Docker's only
            engine_chosen="as asked",
            firewall_backend="iptables (the plugins')",
        )
        st = State()
        dep.state["netns"] = st
        dep.state["cni"] = CniState(path, data)
        try:
            for n in t.nodes:
                st.ns[n.name] = self._netns(dep, n.name, Role.DOCKER_HOST)
            for obj in [*(lan.name for lan in t.wires()), *(p.name for p in t.peers)]:
                st.ns[obj] = self._netns(dep, obj, Role.PLAIN)
            for c in t.containers:
                if dockerrules.has_own_ns(t, c):
                    st.ns[c.name] = self._netns(dep, c.name, Role.ON_DOCKER_HOST)
            self._lans(dep)
            dep.facts["firewall"] = plugins_iptables()
            for node in t.nodes:
                self._node(dep, node.name)
                # the rules before any plugin ran (none: a fresh namespace), for the evidence to diff against, read
                # with the iptables the plugins run, as every later reading is (evidence/firewall.py node_changes)
                baseline = dep.hooks.read_firewall(st.ns[node.name], dep.facts["firewall"])
                dep.firewall_baseline[node.name] = (st.ns[node.name], baseline)
            for i, c in enumerate(t.containers, 1):
                dep.hooks.tick("wiring containers", i, len(t.containers))
                dep.hooks.gate("container", c.name)
                st.containers[c.name] = c
                if dockerrules.has_own_ns(t, c):
                    if any(t.network(a.network).ipv6 for a in c.attachments):  # a pod's namespace has IPv6 on
                        nsthread.write_sysctls(st.ns[c.name], {**IPV6_DEFAULT, **namespaces.IPV6_HOST})
                    for att in dockerrules.docker_order(t, c.attachments):
                        self._add(dep, c, att.network)
            self._chains(dep)
            if t.dual_stack:
                self._settle_dad(dep)
            self._endpoints(dep)
        except OSError as e:
            raise DeployError(f"cni backend: deploying {t.name!r} failed: {e}") from e
        finally:
            st.sessions.close()
        return dep

    def _node(self, dep: Deployment, node: str) -> None:
        """The node's uplinks and the parents its macvlan and ipvlan networks hang from (an 802.1Q sub-interface
        for a VLAN parent); no bridge: the plugin makes it."""
        t, st = dep.topology, _st(dep)
        if t.dual_stack:  # the links the plugins make here (bridges) get IPv6, as on a host that has it
            nsthread.write_sysctls(st.ns[node], {**IPV6_DEFAULT, **namespaces.IPV6_HOST})
        with st.sessions.use(st.ns[node]) as nl:
            for u in t.uplinks_of(node):
                idx = nl.index(u.ifname)
                on = t.lan(u.lan)
                nl.addr(idx, u.address, on.subnet.prefixlen)
                address6 = on.v6_of(u.address)
                if address6 is not None and on.subnet6 is not None:  # a dual-stack lan
                    ipv6_on(st.ns[node], u.ifname)
                    nl.addr(idx, address6, on.subnet6.prefixlen)
                nl.up(idx)
            for name in used_networks(t):
                net = t.network(name)
                lan = t.lan(net.parent) if net.parent else None
                if net.mode is not None and lan is not None and lan.trunk is not None:
                    device, up = t.parent_device(node, net.name), t.uplink(node, lan.trunk)
                    assert device is not None and up is not None and lan.vid is not None
                    if not nl.exists(device):
                        nl.up(nl.vlan(nl.index(up.ifname), device, lan.vid))

    def _add(self, dep: Deployment, c: Container, network: str) -> None:
        t, st, cs = dep.topology, _st(dep), _cni(dep)
        net = t.network(network)
        if net.driver in (Driver.HOST, Driver.NONE):
            return
        att = next(a for a in c.attachments if a.network == network)
        gateway = dockerrules.gateway_attachment(t, c)
        main = gateway is not None and gateway.network == network
        conf = conflist.build(net, t.parent_device(c.node, net.name), os.path.join(cs.data, "networks"), main)
        used = {a.ifname for (name, _), (_, a, _) in cs.attached.items() if name == c.name}
        ifname = next(f"eth{i}" for i in range(64) if f"eth{i}" not in used)
        runtime: dict[str, Any] = {}
        if main and c.publish:
            runtime["portMappings"] = [
                {"hostPort": p.host_port, "containerPort": p.container_port, "protocol": p.proto}
                | ({"hostIP": str(p.host_ip)} if p.host_ip else {})
                for p in c.publish
            ]
            for p in c.publish:
                st.published[(c.node, p.proto, p.host_port)] = (c.name, str(att.address), p.container_port)
        # host-local is asked for the scenario's addresses through the `ips` capability (CIDR, one per family)
        home, six = net.subnet_for(att.address) if att.address else None, net.v6_for(att)
        runtime["ips"] = [f"{att.address}/{home.prefixlen}"] if att.address and home else []
        if six is not None and net.subnet6 is not None:
            runtime["ips"].append(f"{six}/{net.subnet6.prefixlen}")
        a = plugins.Attachment(
            f"{naming.run_prefix(dep.run)}{c.name}", st.ns[c.name], ifname, st.ns[c.node], {}, runtime
        )
        dep.journal.record(ADD, f"{c.name}/{network}", conf=conf, attachment=asdict(a), path=cs.path, data=cs.data)
        faults.point("cni.add")
        cs.attached[(c.name, network)] = (conf, a, plugins.add(conf, a, cs.path, cs.lock))

    def _chains(self, dep: Deployment) -> None:
        """Each network's plugin chain as the plugins ran it, in the report's header and the JSON
        (environment.cni_networks: network -> plugin types, IPAM last)."""
        chains: dict[str, list[str]] = {}
        for (_, network), (conf, _, _) in sorted(_cni(dep).attached.items(), key=lambda kv: kv[0][1]):
            chains[network] = [p["type"] for p in conf["plugins"]] + [conf["plugins"][0]["ipam"]["type"]]
        dep.facts["cni_networks"] = chains
        listed = "; ".join(f"{n}: {' + '.join(types)}" for n, types in chains.items())
        dep.facts["engine"] = f"cni: the CNI reference plugins in {_cni(dep).path}" + (f" ({listed})" if listed else "")

    def _settle_dad(self, dep: Deployment) -> None:
        """Wait (at most DAD_WAIT_S) until no IPv6 address the plugins added is tentative: they add the gateway's
        with duplicate address detection, a second during which it answers nothing; a pod's workload starts after
        that, so the measurement does too (a gateway still tentative afterwards is measured as it is)."""
        st = _st(dep)
        spaces = [st.ns[n.name] for n in dep.topology.nodes]
        deadline = time.monotonic() + DAD_WAIT_S
        while spaces and time.monotonic() < deadline:
            spaces = [p for p in spaces if nsthread.run(p, ["ip", "-6", "-o", "addr", "show", "tentative"]).strip()]
            if spaces:
                time.sleep(0.1)

    def _del(self, dep: Deployment, c: Container, network: str) -> None:
        cs = _cni(dep)
        found = cs.attached.pop((c.name, network), None)
        if found is None:
            return
        conf, a, result = found
        failed = plugins.delete(conf, a, result, cs.path, cs.lock)
        if failed:
            raise DeployError(f"container {c.name!r}: leaving {network!r} failed: {failed[0]}")
        st = _st(dep)
        for key, (name, _, _) in list(st.published.items()):
            if name == c.name and a.runtime.get("portMappings"):
                del st.published[key]

    def _firewall(self, dep: Deployment, node: str) -> None:
        """Nothing of Docker's: the node's rules are what the plugins wrote."""

    def _dns(self, dep: Deployment) -> None:
        """The reference plugins configure no resolver (a runtime's cluster DNS is no part of them)."""
        dep.resolvers.clear()
        dep.dns_servers.clear()

    def _endpoints(self, dep: Deployment) -> None:
        super()._endpoints(dep)
        cs, t = _cni(dep), dep.topology
        made = {(t.network(n).bridge_name, c) for (c, n) in cs.attached if t.network(n).driver == Driver.BRIDGE}
        bridges = {(b, _st(dep).containers[c].node) for b, c in made}
        dep.capture_points = [p for p in dep.capture_points if p.role != "bridge" or (p.ifname, p.node) in bridges]

    # -- stages -----------------------------------------------------------
    def _apply(self, dep: Deployment, stage_index: int) -> None:
        t, st = dep.topology, _st(dep)
        now = {c.name: c for c in t.containers_at(stage_index)}
        for action in t.stages[stage_index].actions:
            if isinstance(action, Route):
                route(dep, action)
            elif isinstance(action, Forward):
                forward(dep, action)
            elif isinstance(action, Shim):
                from netlab.backends.netns import attach

                attach.shim(t, st, action)
            elif isinstance(action, Connect):
                st.containers[action.container] = now[action.container]
                self._add(dep, now[action.container], action.network)
            elif isinstance(action, Disconnect):
                self._del(dep, st.containers[action.container], action.network)
                st.containers[action.container] = now[action.container]
        dep.stage_index = stage_index
        self._chains(dep)
        self._endpoints(dep)

    # -- teardown ---------------------------------------------------------
    def cleanup(self, record: RunRecord) -> list[str]:
        """DEL every journalled ADD, newest first, while its namespaces still exist; then the namespaces and the
        run's plugin state directory."""
        removed = []
        prefix = naming.run_prefix(record.run)
        for entry in reversed(record.entries):
            faults.point("cni.teardown")
            if entry.kind == ADD:
                a = plugins.Attachment(**entry.extra["attachment"])
                if not (a.container_id.startswith(prefix) and os.path.exists(a.host)):
                    continue
                data = str(entry.extra["data"])
                plugins.delete(
                    entry.extra["conf"], a, None, str(entry.extra["path"]), os.path.join(data, "xtables.lock")
                )
                removed.append(f"cni {entry.name}")
            elif entry.kind == STATE_DIR:
                here = os.path.dirname(record.path)
                if entry.name == os.path.join(here, f"{record.run}.cni") and os.path.isdir(entry.name):
                    shutil.rmtree(entry.name)
                    removed.append(f"directory {entry.name}")
            elif entry.kind == "netns" and entry.name.startswith(prefix) and nsthread.remove(entry.name):
                removed.append(f"netns {entry.name}")
        return removed

    def destroy(self, dep: Deployment) -> None:
        self.cleanup(journals.read(dep.journal.path))


__all__ = ["LOOPBACK_IFINDEX", "CniBackend"]
