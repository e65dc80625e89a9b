"""The netns backend: Docker's kernel objects built directly with pyroute2, no Docker involved.

Everything lives in namespaces named nl<run>-<object>; the root namespace is never modified.
  node  (a simulated Docker host): one namespace; its uplinks eth0.. on the lans; Docker's bridges,
        veth host ends, sysctls and the firewall rules the chosen Docker version writes (engines/).
  lan   one namespace holding a Linux bridge named after the lan; uplinks and peers plug into it.
  peer  one namespace with eth0 on its lan.
  container  one namespace (host driver: the node's own; none: loopback only).
  overlay    per node and overlay network a sandbox namespace nl<run>-<node>.<network> with br0 and
             vxlan0, as Docker's overlay driver builds it (see attach.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address

from netlab import faults, nsthread, safety
from netlab.backends import endpoints as common
from netlab.backends import engines, namespaces, naming
from netlab.backends import journal as journals
from netlab.backends.base import NO_HOOKS, Address, Backend, CapturePoint, Deployment, Endpoint, Hooks
from netlab.backends.journal import Journal, RunRecord
from netlab.backends.namespaces import Role
from netlab.backends.netns import attach, lan
from netlab.backends.netns.attach import State
from netlab.backends.netns.lan import forward
from netlab.backends.netns.links import docker_random_mac, ipv6_on
from netlab.errors import DeployError, EnvironmentProblem, KernelFeatureMissing, UsageError
from netlab.kernel import features, uml
from netlab.kernel.iptables import RESTORE6_TOOLS, RESTORE_TOOLS, SAVE_TOOLS, WAIT
from netlab.model import dockerrules
from netlab.model.deployed import Listen
from netlab.model.topology import (
    Connect,
    Container,
    Disconnect,
    Driver,
    EndpointKind,
    Forward,
    Route,
    Shim,
    Topology,
    UserRule,
)

LOOPBACK_IFINDEX = 1
FORWARDING6 = {"net.ipv6.conf.default.forwarding": "1", "net.ipv6.conf.all.forwarding": "1"}
FORWARD_POLICIES = ("drop", "accept")
USERLAND_PROXY = ("on", "off")
EMBEDDED_DNS = IPv4Address("127.0.0.11")
#: where the kernel picks the ports Docker's embedded resolver binds (net.ipv4.ip_local_port_range default)
EPHEMERAL_PORTS = range(32768, 61000)


def restore_rules(
    netns: str,
    rules: str,
    preferred: str | None,
    node: str,
    baseline: str | None = None,
    tools: dict[str, str] = RESTORE_TOOLS,
) -> tuple[str, str]:
    """Load the rules with iptables-nft, or iptables-legacy where the kernel's nf_tables lacks
    what Docker's rules need (user-mode Linux 6.1 has no nat chain type; its guest names the flavour
    in NETLAB_FIREWALL). With `baseline`, that ruleset is loaded and read back first, all in one
    shell: under user-mode Linux every process costs about a second.
    Returns the flavour used and the baseline as iptables-save printed it ('' without one). `tools`: ip6tables'
    (RESTORE6_TOOLS) for IPv6 rules."""
    errors = []
    hint = preferred or os.environ.get("NETLAB_FIREWALL")
    order = [hint, *(f for f in tools if f != hint)] if hint in tools else list(tools)
    for flavour in order:
        assert flavour is not None
        tool = tools[flavour]
        if shutil.which(tool) is None:
            errors.append(f"{tool} not installed")
            continue
        try:
            if baseline is None:
                nsthread.run(netns, [tool, WAIT], stdin=rules)
                return flavour, ""
            save = SAVE_TOOLS[flavour]
            script = (
                f"set -e\n{tool} {WAIT} <<'NETLAB_BASE'\n{baseline}NETLAB_BASE\n{save}\n"
                f"{tool} {WAIT} <<'NETLAB_FULL'\n{rules}NETLAB_FULL\n"
            )
            return flavour, nsthread.run(netns, ["sh", "-c", script])
        except subprocess.CalledProcessError as e:
            errors.append(f"{tool}: {e.stderr.strip().splitlines()[-1] if e.stderr.strip() else e}")
    raise KernelFeatureMissing(
        f"node {node!r}: the kernel refused Docker's iptables rules ({'; '.join(errors)}); it may lack "
        "nf_tables/x_tables matches (addrtype, conntrack, MASQUERADE, nat)"
    )


def route(dep: Deployment, action: Route) -> None:
    """A stage's static route on a peer or node (and its IPv6 twin on a dual-stack lan)."""
    st = _state(dep)
    path = dep.endpoints[action.target].netns
    assert path is not None
    with st.sessions.use(path) as nl:
        nl.route(action.subnet, action.via)
        if action.subnet6 is not None and action.via6 is not None:
            nl.route(action.subnet6, action.via6)


def load_nft(netns: str, script: str, node: str, replace: bool = False) -> None:
    """Load an nftables script (`nft -f`) into the node's namespace; `replace`: its tables are deleted first,
    in the same transaction, as Docker's rules are rewritten as a whole here."""
    if shutil.which("nft") is None:
        raise EnvironmentProblem("nft not found: the 29-nftables profile needs it (apt-get install nftables)")
    if replace:
        tables = [line.split()[1:3] for line in script.splitlines() if line.startswith("table ")]
        script = "".join(f"table {f} {n} {{}}\ndelete table {f} {n}\n" for f, n in tables) + script
    try:
        nsthread.run(netns, ["nft", "-f", "-"], stdin=script)
    except subprocess.CalledProcessError as e:
        raise KernelFeatureMissing(
            f"node {node!r}: the kernel refused Docker's nftables rules ({e.stderr.strip() or e}); it may lack "
            "nf_tables expressions (fib, nat, ct)"
        ) from e


def _free_port(t: Topology, container: str) -> int:
    """A random port for the embedded resolver, as the kernel would pick one, avoiding every port the
    scenario probes on that container (its listener binds the same address)."""
    probed = {
        e.probe.port for st in t.stages for e in st.expectations if e.dst == container and e.probe.port is not None
    }
    while True:
        port = EPHEMERAL_PORTS.start + secrets.randbelow(len(EPHEMERAL_PORTS))
        if port not in probed:
            return port


def _state(dep: Deployment) -> State:
    st = dep.state["netns"]
    assert isinstance(st, State)
    return st


class NetnsBackend(Backend):
    name = "netns"

    def __init__(
        self,
        forward_policy: str | None = None,
        engine: str | None = None,
        chosen: str = "",
        userland_proxy: str | None = None,
        ip6tables: str | None = None,
    ) -> None:
        """`engine`: the Docker version whose rules the nodes get (engines.NAMES; default the newest).
        `forward_policy`: the FORWARD policy of the simulated Docker hosts, "drop" (what Docker sets when it
        turns IP forwarding on itself: a fresh host) or "accept" (a host whose forwarding was already on when
        Docker started, which Docker leaves alone). Default: drop where the profile sets a policy; with
        29-nftables Docker never does, and only accept exists. `userland_proxy`: "on" (Docker's default: a
        docker-proxy relay on every published port of the node, and the DNAT rules that leave it the traffic
        from the bridges and the node's loopback) or "off" (hairpin NAT: DNAT for every source, hairpin mode
        on the bridge ports, route_localnet on the bridges). `ip6tables`: whether the emulated Docker writes IPv6
        rules, "on" or "off" (dockerd's --ip6tables; default the release's: off before 27, on since). `chosen`:
        why these (reported with the engine)."""
        self.chosen = chosen
        self.profile = engines.get(engine or engines.NEWEST)
        default = "drop" if self.profile.sets_forward_policy else "accept"
        policy = (forward_policy or default).lower()
        if policy not in FORWARD_POLICIES:
            raise UsageError(f"--forward-policy {forward_policy!r}: use accept or drop")
        if policy == "drop" and not self.profile.sets_forward_policy:
            raise UsageError(
                f"--forward-policy drop with --engine {self.profile.name}: Docker with nftables never sets a "
                "FORWARD policy and needs the host to enable IP forwarding; use accept"
            )
        self.forward_policy = policy
        proxy = (userland_proxy or "on").lower()
        if proxy not in USERLAND_PROXY:
            raise UsageError(f"--userland-proxy {userland_proxy!r}: use on or off")
        self.userland_proxy = proxy
        six = (ip6tables or ("on" if self.profile.ip6tables else "off")).lower()
        if six not in ("on", "off"):
            raise UsageError(f"--ip6tables {ip6tables!r}: use on or off")
        self.ip6tables = six

    def host(self, ipv6: bool = False) -> engines.Host:
        return engines.Host(
            forward_drop=self.forward_policy == "drop",
            userland_proxy=self.userland_proxy == "on",
            ipv6=ipv6,
            ip6tables=self.ip6tables == "on",
        )

    # -- check ----------------------------------------------------------
    def check(self, topology: Topology | None) -> None:
        external = [n for n in (topology.networks if topology else ()) if n.external]
        if external:
            raise UsageError(
                f"network {external[0].name!r} is external (the existing Docker network {external[0].external!r}): "
                "the netns backend builds every network itself; run it with --backend docker, or declare the network "
                "in the file"
            )
        safety.require_privileges("the netns backend")
        if shutil.which("iptables-restore") is None:
            raise EnvironmentProblem("iptables-restore not found: install it (apt-get install iptables)")
        if topology is None:
            return
        if self.profile.firewall_backend == "nftables" and any(
            isinstance(a, UserRule) for stage in topology.stages for a in stage.actions
        ):
            raise EnvironmentProblem(
                f"{self.profile.title}: Docker's nftables firewall backend has no DOCKER-USER chain (its users add "
                "an nftables table of their own); run the scenario's docker_user rules with --engine 20.10, 28 or 29"
            )
        features.require_br_netfilter()  # every node has Docker's default bridge
        features.require(features.link_kinds_needed(topology))
        features.require_neighbour_room(topology)

    # -- deploy -----------------------------------------------------------
    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        dep = Deployment(run=run, backend=self.name, topology=topology, journal=journal, hooks=hooks)
        proxy = topology.daemon_option("userland-proxy")
        if proxy is not None:  # the scenario's own daemon (Scenario.daemon) over the machine's or --userland-proxy
            self.userland_proxy = "on" if proxy == "true" else "off"
        six = topology.daemon_option("ip6tables")
        if six is not None:  # the scenario's own daemon (Scenario.daemon) over the machine's or --ip6tables
            self.ip6tables = "on" if six == "true" else "off"
        # the rules, sysctls, DNS and userland proxy of the profile's Docker on the host the knobs describe
        p = self.profile
        host = f"FORWARD policy {self.forward_policy.upper()}" if p.sets_forward_policy else "IP forwarding on"
        dep.facts.update(
            engine=f"netns, emulating {p.title} on a host with {host}",
            engine_profile=p.name,
            engine_chosen=self.chosen or "as asked",
            engine_version=p.version,
            firewall_backend=p.firewall_backend,
            userland_proxy=self.userland_proxy,
            ip6tables=self.ip6tables,
        )
        st = State(hairpin=self.userland_proxy == "off")
        dep.state["netns"] = st
        t = topology
        try:
            for n in t.nodes:
                st.ns[n.name] = self._netns(dep, n.name, Role.DOCKER_HOST)
            for obj in [*(lan.name for lan in t.wires()), *(p.name for p in t.peers)]:
                st.ns[obj] = self._netns(dep, obj, Role.PLAIN)
            for c in t.containers:
                if dockerrules.has_own_ns(t, c):
                    st.ns[c.name] = self._netns(dep, c.name, Role.ON_DOCKER_HOST)
            for node in t.nodes:
                for net in t.networks_on(node.name):
                    if net.driver == Driver.OVERLAY:
                        sandbox = naming.sandbox(node.name, net.name)
                        st.ns[sandbox] = self._netns(dep, sandbox, Role.ON_DOCKER_HOST)
            self._lans(dep)
            for node in t.nodes:
                self._node(dep, node.name)
            for i, c in enumerate(t.containers, 1):
                dep.hooks.tick("wiring containers", i, len(t.containers))
                dep.hooks.gate("container", c.name)
                faults.point("netns.container")
                st.containers[c.name] = c
                attach.container(t, st, c)
            attach.overlay_peers(t, st)
            loads = [self._plan_firewall(dep, node.name) for node in t.nodes]
            if len(loads) == 1:
                loads[0]()
            else:  # each load waits on iptables-restore processes in its own node: side by side
                with ThreadPoolExecutor(max_workers=min(4, len(loads)), thread_name_prefix="netlab-rules") as pool:
                    for done in [pool.submit(load) for load in loads]:
                        done.result()
            self._endpoints(dep)
        except (OSError, subprocess.SubprocessError, LookupError) as e:
            raise DeployError(f"netns backend: deploying {t.name!r} failed: {e}") from e
        except Exception as e:
            if type(e).__module__.startswith("pyroute2"):
                raise DeployError(f"netns backend: deploying {t.name!r} failed: netlink: {e}") from e
            raise
        finally:
            st.sessions.close()  # an open socket would keep a namespace alive after teardown
        return dep

    def _netns(self, dep: Deployment, obj: str, role: namespaces.Role) -> str:
        path = namespaces.create(dep.journal, dep.run, obj, role)
        faults.point("netns.created")
        _state(dep).sessions(path).up(LOOPBACK_IFINDEX)
        return path

    def _lans(self, dep: Deployment) -> None:
        st = _state(dep)
        for x in dep.topology.lans:
            dep.hooks.gate("lan", x.name)
        faults.point("netns.lans")
        lan.build(dep.topology, st.ns, lambda u: (u.ifname, st.ns[u.node]))

    def _node(self, dep: Deployment, node: str) -> None:
        t, st = dep.topology, _state(dep)
        try:
            # what dockerd does at start besides forwarding (set with the namespace): br_netfilter on
            nsthread.write_sysctls(st.ns[node], {"net.bridge.bridge-nf-call-iptables": "1"})
            if any(net.ipv6 for net in t.networks_on(node)):
                # a network with IPv6: Docker turns IPv6 forwarding on (bridge driver, setupIPv6Forwarding)
                nsthread.write_sysctls(st.ns[node], FORWARDING6)
            if t.dual_stack:
                nsthread.write_sysctls(st.ns[node], namespaces.IPV6_HOST)
        except FileNotFoundError as e:
            raise KernelFeatureMissing(
                "br_netfilter: /proc/sys/net/bridge is missing, Docker's bridge rules cannot "
                "filter bridged traffic; load it with `modprobe br_netfilter`"
            ) from e
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
            for net in t.networks_on(node):
                dep.hooks.gate("network", net.name)
                faults.point("netns.network")
                if net.dummy:  # macvlan/ipvlan without a parent: Docker's dummy link, up, nothing else on it
                    nl.up(nl.dummy(net.dummy))
                lan = t.lan(net.parent) if net.parent else None
                if lan is not None and lan.trunk is not None:  # parent=eth0.50: Docker makes the sub-interface
                    device = t.parent_device(node, net.name)
                    up = t.uplink(node, lan.trunk)
                    assert device is not None and up is not None and lan.vid is not None
                    if not nl.exists(device):
                        nl.up(nl.vlan(nl.index(up.ifname), device, lan.vid))
                if net.driver == Driver.BRIDGE:
                    assert net.bridge_name and net.gateway and net.subnet
                    br = nl.bridge(net.bridge_name, mac=docker_random_mac())
                    nl.addr(br, net.gateway, net.subnet.prefixlen)
                    if net.subnet6 is not None:  # dual stack: the bridge carries the IPv6 gateway too
                        ipv6_on(st.ns[node], net.bridge_name)
                        assert net.gateway6 is not None
                        nl.addr(br, net.gateway6, net.subnet6.prefixlen)
                    nl.up(br)
                    if st.hairpin:  # Docker without docker-proxy: DNAT'ed loopback traffic may leave by the bridge
                        nsthread.write_sysctls(st.ns[node], {f"net.ipv4.conf.{net.bridge_name}.route_localnet": "1"})
        for net in t.networks_on(node):
            if net.driver == Driver.OVERLAY:
                attach.overlay_sandbox(t, st, node, net)

    def _firewall(self, dep: Deployment, node: str) -> None:
        """Docker's rules for the node as they are now, loaded."""
        self._plan_firewall(dep, node)()

    def _plan_firewall(self, dep: Deployment, node: str) -> Callable[[], None]:
        """Docker's rules for the node (its published ports and docker-proxy relays recorded on the way): what
        loads them, to be called once."""
        t, st = dep.topology, _state(dep)
        published = []
        st.published = {k: v for k, v in st.published.items() if k[0] != node}
        for c in st.containers.values():
            if c.node != node or not c.publish or dockerrules.shares_node_ns(t, c):
                continue
            # Docker programs a container's published ports on the endpoint that gives its default route
            gw = dockerrules.gateway_attachment(t, c)
            if gw is None or gw.address is None:
                continue
            net = t.network(gw.network)
            for p in c.publish:
                published.append(engines.Published(net, gw.address, p, net.v6_of(gw.address)))
                st.published[(node, p.proto, p.host_port)] = (c.name, str(gw.address), p.container_port)
        # docker-proxy: one relay per published port, on every address of the node (or the one it is published
        # on), to the container; as the rules, only where that endpoint is on a bridge network that is not internal
        relayed = [
            x
            for x in published
            if self.userland_proxy == "on" and x.network.driver == Driver.BRIDGE and not x.network.internal
        ]
        st.proxies[node] = [
            Listen(
                st.ns[node],
                x.publish.proto,
                x.publish.host_port,
                bind=str(x.publish.host_ip or "0.0.0.0"),
                upstream=(str(x.address), x.publish.container_port),
            )
            for x in relayed
        ]
        # and `-host-ip ::` beside it when the port names no host address and the node can listen on IPv6 (a
        # dual-stack run: namespaces.IPV6_HOST): to the container's IPv6 address, else its IPv4 one (libnetwork
        # v20.10 allocatePortsInternal)
        if t.dual_stack:
            st.proxies[node] += [
                Listen(
                    st.ns[node],
                    x.publish.proto,
                    x.publish.host_port,
                    bind="::",
                    upstream=(str(x.address6 or x.address), x.publish.container_port),
                    v6only=True,
                )
                for x in relayed
                if x.publish.host_ip is None
            ]
        user = [r.rule for r in t.user_rules(dep.stage_index, node)]
        host = self.host(ipv6=any(net.ipv6 for net in t.networks_on(node)))
        rules = engines.with_user_rules(self.profile.render(t.networks_on(node), published, host), user)
        faults.point("netns.firewall")
        return lambda: self._load_firewall(dep, node, rules, host)

    def _load_firewall(self, dep: Deployment, node: str, rules: engines.Rules, host: engines.Host) -> None:
        """Load the node's rules (and, the first time, the daemon's own before them, read back as the baseline the
        evidence diffs against). Touches only this node's namespace: the nodes' loads may run side by side."""
        t, st = dep.topology, _state(dep)
        netns = st.ns[node]
        if node in dep.firewall_baseline:
            if rules.iptables:
                st.firewall, _ = restore_rules(netns, rules.iptables, st.firewall, node)
            if rules.ip6tables:
                restore_rules(netns, rules.ip6tables, st.firewall, node, tools=RESTORE6_TOOLS)
            if rules.nftables:
                load_nft(netns, rules.nftables, node, replace=True)
        else:
            # the daemon's own rules first (its default bridge only), as a Docker host has them before any
            # network of the scenario exists: the firewall evidence diffs against that
            daemon_only = [n for n in t.networks_on(node) if n.predefined and n.name == "bridge"]
            base = self.profile.render(daemon_only, [], host)
            saved = ""
            if rules.ip6tables:  # the daemon's IPv6 chains, read back with the rest as the baseline
                st.firewall, _ = restore_rules(netns, base.iptables, st.firewall, node)
                restore_rules(netns, base.ip6tables, st.firewall, node, tools=RESTORE6_TOOLS)
                saved = dep.hooks.read_firewall(netns, st.firewall)  # read as every later reading (node_changes)
                st.firewall, _ = restore_rules(netns, rules.iptables, st.firewall, node)
                restore_rules(netns, rules.ip6tables, st.firewall, node, tools=RESTORE6_TOOLS)
            elif rules.iptables:
                st.firewall, saved = restore_rules(netns, rules.iptables, st.firewall, node, baseline=base.iptables)
            if rules.nftables:
                st.firewall = st.firewall or "nftables"
                load_nft(netns, base.nftables, node)
                saved = dep.hooks.read_firewall(netns, st.firewall)
                load_nft(netns, rules.nftables, node, replace=True)
            dep.firewall_baseline[node] = (netns, saved)
        dep.facts["firewall"] = st.firewall

    def _endpoints(self, dep: Deployment) -> None:
        t, st = dep.topology, _state(dep)
        eps: dict[str, Endpoint] = {}
        for node in t.nodes:
            addrs = common.uplink_addresses(t, node.name) + common.gateway_addresses(t, node.name)
            for shim in st.shims.get(node.name, []):
                addrs.append(common.shim_address(shim.lan, shim.address))
            eps[node.name] = Endpoint(node.name, EndpointKind.HOST, node.name, st.ns[node.name], addrs)
        for c in st.containers.values():
            if dockerrules.shares_node_ns(t, c):
                eps[c.name] = common.sharing_node(c, eps[c.node])
                continue
            if c.joins:
                eps[c.name] = common.joining(c, eps[c.joins])
                continue
            addrs = [
                Address(a.network, t.segment(a.network, c.node), a.address, t.network(a.network).v6_for(a))
                for a in c.attachments
                if a.address
            ]
            eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, st.ns[c.name], addrs)
        for p in t.peers:
            eps[p.name] = common.peer(t, p, st.ns[p.name])
        dep.endpoints = {name: eps[name] for name in t.endpoint_names()}
        dep.proxies = [w for node in t.nodes for w in st.proxies.get(node.name, [])]
        dep.published = dict(st.published)
        dep.capture_points = common.lan_capture_points(t, st.ns)
        for node in t.nodes:
            for net in t.networks_on(node.name):
                if net.driver == Driver.BRIDGE and net.bridge_name:
                    point = CapturePoint(
                        f"{node.name}-{net.name}", st.ns[node.name], net.bridge_name, "bridge", node.name
                    )
                    dep.capture_points.append(point)
        self._dns(dep)

    def _dns(self, dep: Deployment) -> None:
        """Docker's resolvers, reproduced: containers on user-defined networks ask the embedded DNS
        at 127.0.0.11 (names of the containers they share a user-defined network with); everything
        else asks the run's own upstream, which knows no names (Docker would copy the host's
        resolv.conf; netlab never lets a query reach the machine's resolver).

        As Docker does it, the embedded resolver listens on two random ports of 127.0.0.11 (udp, tcp)
        and rules in the container's own nat table DNAT port 53 to them; a container keeps its ports for
        the whole run, and its rules are loaded once, all containers' side by side."""
        t, st = dep.topology, _state(dep)
        dep.resolvers.clear()
        dep.dns_servers.clear()
        upstream: dict[str, IPv4Address] = {}
        for node in t.nodes:
            gw = t.network("bridge").gateway
            assert gw is not None
            upstream[node.name] = gw
            dep.dns_servers.append(Listen(st.ns[node.name], "dns", 53, bind=str(gw)))
            dep.resolvers[node.name] = gw
        containers = list(st.containers.values())
        load: list[tuple[str, list[str], str | None]] = []
        for c in containers:
            if c.joins:  # the namespace, and so the resolver, of the container it joins
                dep.resolvers[c.name] = dep.resolvers[c.joins]
                continue
            if not dockerrules.uses_embedded_dns(t, c):
                dep.resolvers[c.name] = upstream[c.node]
                continue
            zone = dockerrules.embedded_zone(t, c, containers)
            if c.name not in st.dns_ports:
                udp, tcp = _free_port(t, c.name), _free_port(t, c.name)
                st.dns_ports[c.name] = (udp, tcp)
                dns = self.profile.embedded_dns(udp, tcp)
                if dns.nftables:
                    load.append((st.ns[c.name], ["nft", "-f", "-"], dns.nftables))
                else:
                    tool = RESTORE_TOOLS[st.firewall if st.firewall in RESTORE_TOOLS else "iptables-nft"]
                    load.append((st.ns[c.name], [tool, WAIT], dns.iptables))
            udp, tcp = st.dns_ports[c.name]
            dep.resolvers[c.name] = EMBEDDED_DNS
            names = tuple(sorted(zone.items()))
            dep.dns_servers.append(Listen(st.ns[c.name], "dns", udp, bind=str(EMBEDDED_DNS), zone=names))
            dep.dns_servers.append(Listen(st.ns[c.name], "dnstcp", tcp, bind=str(EMBEDDED_DNS), zone=names))
        try:
            faults.point("netns.dns")
            loaded = nsthread.run_many(load)
        except (OSError, subprocess.SubprocessError) as e:
            raise DeployError(f"loading the embedded DNS rules failed: {e}") from e
        for (netns, argv, _), done in zip(load, loaded, strict=True):
            if done.returncode != 0:
                container = next(n for n, path in st.ns.items() if path == netns)
                raise DeployError(
                    f"container {container!r}: {argv[0]} refused the embedded DNS rules: {done.stderr.strip()}"
                )

    # -- stages -----------------------------------------------------------
    def apply(self, dep: Deployment, stage_index: int) -> None:
        try:
            self._apply(dep, stage_index)
        finally:
            _state(dep).sessions.close()

    def _apply(self, dep: Deployment, stage_index: int) -> None:
        t, st = dep.topology, _state(dep)
        touched_nodes: set[str] = set()
        now = {c.name: c for c in t.containers_at(stage_index)}
        for k, action in enumerate(t.stages[stage_index].actions):
            dep.hooks.gate("action", f"{stage_index}:{k}")
            faults.point("netns.action")
            if isinstance(action, Route):
                route(dep, action)
            elif isinstance(action, Shim):
                attach.shim(t, st, action)
            elif isinstance(action, Forward):
                forward(dep, action)
            elif isinstance(action, UserRule):
                touched_nodes.add(action.node)
            elif isinstance(action, Connect | Disconnect):
                c = st.containers[action.container]
                if isinstance(action, Connect):
                    att = next(a for a in now[c.name].attachments if a.network == action.network)
                    attach.connect(t, st, c, att)
                else:
                    attach.disconnect(t, st, c, action.network)
                st.containers[c.name] = now[c.name]
                attach.default_route(t, st, now[c.name])
                touched_nodes.add(c.node)
        dep.stage_index = stage_index  # the rules rendered below are this stage's (DOCKER-USER rules included)
        for node in sorted(touched_nodes):
            self._firewall(dep, node)
        if touched_nodes:
            self._dns(dep)  # a container that joined a user-defined network gets the embedded DNS
        dep.stage_index = stage_index
        self._endpoints(dep)

    # -- teardown ---------------------------------------------------------
    def destroy(self, dep: Deployment) -> None:
        """Remove every namespace the journal names, including those of a deploy that died half-way.

        Links live inside the run's namespaces and vanish with them; the root namespace holds nothing.
        """
        self.cleanup(journals.read(dep.journal.path))

    def cleanup(self, record: RunRecord) -> list[str]:
        removed = []
        for entry in reversed(record.entries):
            faults.point("netns.teardown")
            owned = entry.kind == "netns" and entry.name.startswith(naming.run_prefix(record.run))
            if owned and nsthread.remove(entry.name):
                removed.append(f"netns {entry.name}")
            elif entry.kind in ("uml", "scratch"):
                removed += uml.cleanup(record.run, entry.kind, entry.name)
        return removed


__all__ = ["Container", "NetnsBackend"]
