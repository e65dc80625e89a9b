"""The docker backend: a real Docker Engine builds every network and container of the scenario.

Every Docker object is named nl<run>-<object> and labelled netlab.run=<run> (plus scenario and role);
nothing else is touched. Lans and peers are namespaces as in the netns backend; the node's uplink
on a lan is a veth the run creates in the root namespace (nl<run>u<i>), with the node's lan address,
used as `parent` of macvlan/ipvlan networks. Probes run from the netlab process inside each
container's namespace (/proc/<pid>/ns/net), with the same engine as the netns backend.
Containers get the run's own resolver (a namespace netlab creates, answering NXDOMAIN) as their DNS
server, so no query reaches the machine's resolver.

This module creates the scenario's networks and containers and undoes them, in every mode
(state.py); around it: engine.py (clients, hung daemons), site.py (lans, peers, uplinks, resolver on
this machine), swarm.py (private daemons), remote.py (remote engines), endpoints.py (what netlab probes).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import Any

from netlab import faults, lease, nsthread, safety
from netlab.backends import cgroups, namespaces, naming
from netlab.backends import journal as journals
from netlab.backends.base import NO_HOOKS, Backend, Deployment, Hooks
from netlab.backends.docker import daemonconfig, daemons, endpoints, remote, site, swarm
from netlab.backends.docker import image as probe_image
from netlab.backends.docker.engine import Engines, api_errors, requests_timeout, stream_errors
from netlab.backends.docker.engine import daemon_timeout as default_daemon_timeout
from netlab.backends.docker.state import REMOTE_DNS, ROOT_NS, State, docker_network, labels, record, state
from netlab.backends.journal import Journal, RunRecord
from netlab.backends.namespaces import Role
from netlab.backends.netns.lan import forward
from netlab.backends.netns.links import netlink_in
from netlab.errors import DeployError, EnvironmentProblem, KernelFeatureMissing, Timeout, UsageError
from netlab.kernel import features
from netlab.kernel.pyroute import ChaoticException, NetlinkDecodeError, NetlinkError
from netlab.model.probing import FromNamespaces, Probing, ThroughShells
from netlab.model.scenario import IFNAME_RE
from netlab.model.topology import (
    GWBRIDGE,
    Attachment,
    Connect,
    Container,
    Disconnect,
    Driver,
    Forward,
    Network,
    Route,
    Shim,
    Topology,
    UserRule,
)


class DockerBackend(Backend):
    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        parent: str | None = None,
        base_url: str | None = None,
        nodes: dict[str, str] | None = None,
        daemon_timeout: float | None = None,
    ) -> None:
        self.image = image
        self.parent = parent
        self.base_url = base_url
        self.nodes = dict(nodes or {})  # remote engines: scenario node -> engine URL
        #: seconds one request may take (None: NETLAB_DAEMON_TIMEOUT, else 60)
        self.daemon_timeout = daemon_timeout if daemon_timeout is not None else default_daemon_timeout()
        self.engines = Engines(base_url, self.daemon_timeout)

    def uses_host_routes(self) -> bool:
        """Remote engines (--node) route on their own machines; netlab cannot see their routes."""
        return not self.nodes

    # -- daemon -------------------------------------------------------------
    def client(self) -> Any:
        """The machine's engine (or the one at base_url)."""
        return self.engines.client()

    def engine(self, url: str) -> Any:
        return self.engines.engine(url)

    def version(self) -> str:
        if self.nodes:
            return ", ".join(f"{node}: {v}" for node, v in self.versions().items())
        return str(self.client().version().get("Version", "?"))

    def versions(self) -> dict[str, str]:
        """The Docker version of each remote engine (`docker version`, read only)."""
        return {node: str(self.engine(url).version().get("Version", "?")) for node, url in sorted(self.nodes.items())}

    # -- check ----------------------------------------------------------------
    def check(self, topology: Topology | None) -> None:
        external = [n for n in (topology.networks if topology else ()) if n.external]
        if external and self.nodes:
            raise UsageError(
                f"network {external[0].name!r}: external networks are used on the machine's own daemon, not on "
                "remote engines (--node)"
            )
        if topology is not None and topology.dual_stack and self.nodes:
            six = [n.name for n in topology.networks if n.ipv6] + [x.name for x in topology.lans if x.subnet6]
            raise EnvironmentProblem(
                f"{six[0]!r} is dual-stack (ipv6): netlab runs IPv6 on daemons of its own on this machine (Docker "
                "turns IPv6 forwarding on where it creates an IPv6 network), which a remote engine (--node) is not"
            )
        rules = [a for stage in (topology.stages if topology else ()) for a in stage.actions if isinstance(a, UserRule)]
        if topology is not None and topology.daemon and self.nodes:
            raise EnvironmentProblem(
                f"scenario {topology.name!r} asks for daemon options ({' '.join(topology.daemon_flags())}): netlab "
                "starts daemons of its own for them on this machine, which a remote engine (--node) is not"
            )
        if rules and self.nodes:
            raise EnvironmentProblem(
                "DOCKER-USER rules (docker_user) are written into the firewall of the machine netlab runs on; a remote "
                "engine's (--node) is out of its reach: run the scenario on this machine's daemon or on netns"
            )
        if self.nodes:
            remote.check(self.engines, self.nodes, self.parent, topology)
            return
        safety.require_privileges("the docker backend")
        self._check_parent()
        self.client()
        if topology is None:
            return
        self._check_external(topology)
        if needs_private_nodes(topology) and (shutil.which("dockerd") is None or shutil.which("nsenter") is None):
            raise EnvironmentProblem(
                f"scenario {topology.name!r} needs private Docker daemons (several nodes or overlay networks): "
                "dockerd and nsenter must be installed (apt-get install docker.io util-linux)"
            )
        self._check_machine(topology)

    def _check_parent(self) -> None:
        if self.parent is not None and (
            not IFNAME_RE.match(self.parent) or not os.path.exists(f"/sys/class/net/{self.parent}")
        ):
            raise UsageError(f"--parent {self.parent}: no such network interface on this host (see `ip link`)")

    def _check_machine(self, topology: Topology) -> None:
        """What this machine must allow for the scenario: bridge names no interface has, the link kinds its kernel
        creates, room in the neighbour table, iproute2."""
        for net in topology.networks:
            name = net.options.get("com.docker.network.bridge.name")
            if name and os.path.exists(f"/sys/class/net/{name}"):
                raise UsageError(
                    f"network {net.name!r}: bridge name {name!r} is an existing interface of this host; Docker "
                    "would take it over (its addresses, NAT, containers on it): pick a name no interface has"
                )
        needed = features.link_kinds_needed(topology)
        kinds = features.link_kinds(frozenset(needed))
        for kind in sorted(needed):
            if kinds.get(kind):
                if kind == "ipvlan":
                    raise KernelFeatureMissing(
                        "ipvlan: Docker's ipvlan driver cannot work on this kernel (no CONFIG_IPVLAN); "
                        "`--backend netns --kernel uml` explores the same semantics in user-mode Linux"
                    )
                if kind == "dummy":
                    raise KernelFeatureMissing(
                        "dummy: Docker makes a dummy link the parent of a macvlan or ipvlan network given none, and "
                        "this kernel has no dummy links (CONFIG_DUMMY); `--backend netns --kernel uml` runs it in "
                        "user-mode Linux"
                    )
                raise KernelFeatureMissing(
                    f"{kind}: this kernel cannot create {kind} links ({kinds[kind]}), which Docker needs for this "
                    "scenario; `--backend netns --kernel uml` runs it in user-mode Linux"
                )
        features.require_neighbour_room(topology)
        if shutil.which("ip") is None:
            raise EnvironmentProblem("ip (iproute2) not found: apt-get install iproute2")

    def _check_external(self, topology: Topology) -> None:
        """An external network must exist on the machine's daemon, as a bridge network (exit 2 otherwise)."""
        import docker.errors

        for net in topology.networks:
            if not net.external:
                continue
            what = f"network {net.name!r}: external network {net.external!r}"
            if needs_private_nodes(topology):
                raise UsageError(f"{what}: external networks are used on the machine's own daemon (one node)")
            try:
                info = self.client().api.inspect_network(net.external)
            except docker.errors.NotFound:
                raise UsageError(
                    f"{what} does not exist on the Docker daemon; create it (docker network create {net.external}) "
                    "or declare the network in the file"
                ) from None
            if info.get("Driver") != "bridge":
                raise UsageError(
                    f"{what} uses the {info.get('Driver')} driver; netlab uses external bridge networks only (another "
                    "driver's parent is a real NIC of this machine, and the probes would go out of it onto a real LAN)"
                )

    # -- deploy -----------------------------------------------------------------
    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        dep = Deployment(run=run, backend=self.name, topology=topology, journal=journal, hooks=hooks)
        st = State()
        dep.state["docker"] = st
        t = topology
        st.private = self._private(t)
        self._engine_facts(dep)
        try:
            if self.nodes:
                st.engines = dict(self.nodes)
                st.clients = {node: self.engine(url) for node, url in st.engines.items()}
            elif st.private:
                for node in t.nodes:
                    st.node_ns[node.name] = site.netns(dep, node.name, Role.FRESH_HOST)
                    if t.dual_stack:
                        nsthread.write_sysctls(st.node_ns[node.name], namespaces.IPV6_HOST)
            else:
                st.node_ns[t.nodes[0].name] = ROOT_NS
                st.clients[t.nodes[0].name] = self.client()
                dep.firewall_baseline[t.nodes[0].name] = (ROOT_NS, hooks.read_firewall(ROOT_NS))
            if not self.nodes:
                for obj in [*(lan.name for lan in t.wires()), *(p.name for p in t.peers)]:
                    st.ns[obj] = site.netns(dep, obj, Role.PLAIN)
                for x in t.lans:
                    dep.hooks.gate("lan", x.name)
                faults.point("docker.uplinks")
                site.uplinks(dep)
                faults.point("docker.resolver")
                site.resolver(dep)
            if st.private:
                self._start_daemons(dep)
                for name, path in st.node_ns.items():  # each daemon is up, no network of the scenario yet
                    dep.firewall_baseline[name] = (path, hooks.read_firewall(path))
            self._daemon_facts(dep)
            images = {node: probe_image.ensure(c, self.image) for node, c in st.clients.items()}
            for node in t.nodes:
                for net in t.networks_on(node.name):
                    if not net.predefined and net.driver != Driver.OVERLAY:
                        dep.hooks.gate("network", net.name)
                        faults.point("docker.network")
                        self._network(dep, net, node.name)
            for net in t.networks:
                if net.driver == Driver.OVERLAY:
                    dep.hooks.gate("network", net.name)
                    self._network(dep, net, t.nodes[0].name)
            for i, c in enumerate(t.containers, 1):
                dep.hooks.tick("starting containers", i, len(t.containers))
                dep.hooks.gate("container", c.name)
                self._container(dep, c, images[c.node])
            if self.nodes:
                for node in t.nodes:
                    remote.hostprobe(dep, node.name, images[node.name])
            for action in t.stages[0].actions:  # the scenario's own DOCKER-USER rules
                if isinstance(action, UserRule):
                    self._user_rule(dep, action)
            endpoints.refresh(dep)
            if t.dual_stack:
                endpoints.wait_ipv6_ready(dep)
        except requests_timeout() as e:
            raise self.engines.did_not_answer(e) from e
        except (OSError, subprocess.SubprocessError, LookupError) as e:
            raise DeployError(f"docker backend: deploying {t.name!r} failed: {e}") from e
        except (NetlinkDecodeError, ChaoticException) as e:
            raise DeployError(
                f"docker backend: deploying {t.name!r} failed: the kernel's netlink answer could not be decoded "
                f"({type(e).__name__}: {e}); pyroute2 met a message it cannot read: rerun, and report it if it persists"
            ) from e
        except stream_errors() as e:
            raise DeployError(
                f"docker backend: deploying {t.name!r} failed: the Docker daemon's streamed answer (an image "
                f"build or pull) could not be parsed ({e}); check the daemon's log, then rerun"
            ) from e
        except (*api_errors(), NetlinkError) as e:
            hint = (
                "; a published host port exists once per machine: another run of a scenario publishing it, "
                "or a service of this host, holds it (stop that, or run such scenarios one at a time)"
                if _port_taken(e)
                else ""
            )
            raise DeployError(f"docker backend: deploying {t.name!r} failed: {e}{hint}") from e
        return dep

    def _private(self, t: Topology) -> bool:
        """Whether the run starts daemons of its own, one per node (state.py's private mode)."""
        return not self.nodes and needs_private_nodes(t)

    def _engine_facts(self, dep: Deployment) -> None:
        versions = self.versions() if self.nodes else {}
        dep.facts["docker"] = ", ".join(f"{n}: {v}" for n, v in versions.items()) if versions else self.version()
        dep.facts["engine"] = f"Docker Engine {dep.facts['docker']}"
        # what conditional expectations compare (`when={"engine": ">=28"}`): remote engines of several versions
        # leave it unknown (such cells are undecided, never judged on a guess)
        if not self.nodes:
            dep.facts["engine_version"] = dep.facts["docker"]
        elif len(set(versions.values())) == 1 and "?" not in versions.values():
            dep.facts["engine_version"] = next(iter(versions.values()))
            backend = (self.client().info().get("FirewallBackend") or {}).get("Driver") or "iptables"
            dep.facts["firewall_backend"] = "nftables" if "nftables" in backend else "iptables"

    def _start_daemons(self, dep: Deployment) -> None:
        swarm.start(dep, self.daemon_timeout)

    def _host_config(self, dep: Deployment, c: Container) -> dict[str, Any]:
        """What the engine needs in every container's host config besides the scenario's (nothing, for Docker)."""
        return {}

    def _networking_config(self, api: Any, net: Network, name: str, endpoint: Any) -> Any:
        """The first network's endpoint, as `docker run --network` sends it (for host and none too)."""
        return api.create_networking_config({name: endpoint})

    def _network_options(self, net: Network, options: dict[str, str]) -> dict[str, str]:
        """The options a network is created with (the scenario's, and the parent netlab gives it)."""
        return options

    def _daemon_facts(self, dep: Deployment) -> None:
        """The options of the daemon the scenario runs on that change what its networks do (the machine's own
        daemon, or the first private one: all of them are started alike); none for remote engines."""
        st = state(dep)
        if st.engines:
            return
        if st.private:
            proc = st.daemons[dep.topology.nodes[0].name].proc
            pid = proc.pid if proc is not None else None
        elif self.base_url is None and os.environ.get("DOCKER_HOST") in (None, "", "unix:///var/run/docker.sock"):
            pid = daemonconfig.pid_of_local_daemon()
        else:
            return  # another socket: netlab cannot tell which process answers there
        if pid is None:
            return  # no daemon process found: its options are unknown, and Docker's defaults would be a guess
        options = daemonconfig.read(pid)
        dep.facts["daemon_options"] = options
        dep.facts["userland_proxy"] = "on" if options.get("userland-proxy") == "true" else "off"
        dep.facts["ip6tables"] = daemonconfig.ip6tables(options, dep.facts.get("engine_version"))

    def _network(self, dep: Deployment, net: Any, node: str) -> None:
        import docker.types

        t, st = dep.topology, state(dep)
        if net.external:  # used as it is: not created, not journalled, never removed
            info = st.clients[node].api.inspect_network(net.external)
            st.networks[net.name] = net.external
            bridge = (info.get("Options") or {}).get("com.docker.network.bridge.name")
            st.bridges[(node, net.name)] = str(bridge or f"br-{info['Id'][:12]}")
            return
        name = naming.ns_name(dep.run, net.name)
        options = dict(net.options)
        driver = str(net.driver)
        # without a parent Docker makes a dummy link the parent (dm-<id>, di-<id>)
        if net.driver in (Driver.MACVLAN, Driver.IPVLAN) and net.parent is not None:
            lan = t.lan(net.parent)  # a VLAN: `<uplink>.<vid>`, which Docker creates (and removes with the network)
            parent = self.parent or st.uplinks[(node, lan.trunk or lan.name)]
            options["parent"] = f"{parent}.{lan.vid}" if lan.trunk else parent
        pools = [
            docker.types.IPAMPool(
                subnet=str(sub),
                gateway=str(net.gateway) if i == 0 and net.gateway else None,
                # swarm gives every node a load-balancer address on an overlay: keep Docker's own picks in
                # the upper half, clear of the addresses netlab assigns from the bottom
                iprange=str(list(sub.subnets(prefixlen_diff=1))[1]) if net.driver == Driver.OVERLAY else None,
            )
            for i, sub in enumerate(net.subnets)
        ]
        if net.subnet6 is not None:  # `--ipv6 --subnet <v6>`: the gateway ::1, as Docker picks it
            pools.append(docker.types.IPAMPool(subnet=str(net.subnet6), gateway=str(net.gateway6)))
        options = self._network_options(net, options)
        if not st.private:  # a private daemon's objects go with the daemon
            record(dep, "docker-network", name, node)
        # Docker 20.10 moves its `-j DOCKER-USER` jump to the top of FORWARD after each network it creates, by a
        # delete and an insert; two creations at once leave two jumps (seen with four netlab runs on one daemon).
        # Runs sharing the machine's daemon create their networks one at a time
        shared = not st.private and not st.engines
        with lease.exclusive("docker-networks") if shared else contextlib.nullcontext():
            created = st.clients[node].networks.create(
                name,
                driver=driver,
                options=options,
                ipam=docker.types.IPAMConfig(pool_configs=pools),
                enable_ipv6=net.ipv6,
                internal=net.internal,
                check_duplicate=True,
                attachable=True,
                labels=labels(dep.run, t.name, "network"),
            )
        st.networks[net.name] = name
        if net.driver == Driver.BRIDGE:  # the name asked for (the scenario's, or the engine's hook: Podman's)
            st.bridges[(node, net.name)] = str(options.get("com.docker.network.bridge.name") or f"br-{created.id[:12]}")

    def _container(self, dep: Deployment, c: Container, image: str) -> None:
        t, st = dep.topology, state(dep)
        api = st.clients[c.node].api
        if c.joins:
            self._joining(dep, c, image)
            return
        first = c.attachments[0]
        first_net = t.network(first.network)
        name = naming.ns_name(dep.run, c.name)
        endpoint = api.create_endpoint_config(
            ipv4_address=str(first.address) if first.address and first_net.user_defined else None,
            ipv6_address=_v6(first_net, first),
            aliases=list(first.aliases) or None,
            links=_links(dep, c) if first_net.user_defined else None,
        )
        ports = sorted({(p.container_port, p.proto) for p in c.publish})
        bindings: dict[str, list[Any]] = {}  # container port -> every host binding of it (`-p A:80 -p B:80`)
        for p in c.publish:
            bindings.setdefault(f"{p.container_port}/{p.proto}", []).append(
                (str(p.host_ip), p.host_port) if p.host_ip else p.host_port
            )
        host_config = api.create_host_config(
            network_mode=docker_network(st, first.network),
            port_bindings=bindings if ports and first_net.driver != Driver.HOST else None,
            # remote engines: the container's own loopback, where nothing answers (Docker's embedded DNS then
            # forwards unknown names there, inside the container): no query reaches the remote host's resolver
            dns=[str(st.resolver)] if st.resolver else ([REMOTE_DNS] if st.engines else None),
            sysctls=dict(c.sysctls) or None,
            **self._host_config(dep, c),
        )
        if ports and first_net.driver == Driver.HOST:
            # the SDK refuses -p with host networking; Docker takes it, discards it and says so (its warning is
            # the evidence)
            host_config["PortBindings"] = {
                k: [
                    {"HostIp": b[0], "HostPort": str(b[1])} if isinstance(b, tuple) else {"HostPort": str(b)} for b in v
                ]
                for k, v in bindings.items()
            }
        if not st.private:
            record(dep, "docker-container", name, c.node)
        faults.point("docker.container.create")
        created = api.create_container(
            image,
            name=name,
            hostname=c.name,
            labels=labels(dep.run, t.name, "container"),
            host_config=host_config,
            ports=ports or None,
            networking_config=self._networking_config(api, first_net, docker_network(st, first.network), endpoint),
        )
        cid = created["Id"]
        if created.get("Warnings"):
            dep.facts.setdefault("docker_warnings", {})[c.name] = list(created["Warnings"])
        st.containers[c.name] = cid
        for att in c.attachments[1:]:
            if att.network != GWBRIDGE:  # Docker attaches overlay containers to docker_gwbridge itself
                self._connect(dep, c.name, att.network, att.address, att.aliases, att.address6)
        faults.point("docker.container.start")
        api.start(cid)

    def _joining(self, dep: Deployment, c: Container, image: str) -> None:
        """`--network container:X`: no hostname, DNS or ports of its own (Docker refuses them with that mode)."""
        t, st = dep.topology, state(dep)
        api = st.clients[c.node].api
        name = naming.ns_name(dep.run, c.name)
        if not st.private:
            record(dep, "docker-container", name, c.node)
        faults.point("docker.container.create")
        created = api.create_container(
            image,
            name=name,
            labels=labels(dep.run, t.name, "container"),
            host_config=api.create_host_config(
                network_mode=f"container:{st.containers[str(c.joins)]}", **self._host_config(dep, c)
            ),
        )
        st.containers[c.name] = created["Id"]
        faults.point("docker.container.start")
        api.start(created["Id"])

    def _connect(
        self,
        dep: Deployment,
        container: str,
        network: str,
        address: IPv4Address | None,
        aliases: tuple[str, ...] = (),
        address6: IPv6Address | None = None,
    ) -> None:
        faults.point("docker.connect")
        st = state(dep)
        net = dep.topology.network(network)
        st.clients[dep.topology.container(container).node].api.connect_container_to_network(
            st.containers[container],
            docker_network(st, network),
            ipv4_address=str(address) if address and net.user_defined else None,
            ipv6_address=_v6(net, Attachment(network, address, address6=address6)),
            aliases=list(aliases) or None,
            links=_links(dep, dep.topology.container(container)) if net.user_defined else None,
        )

    # -- stages -------------------------------------------------------------------
    def apply(self, dep: Deployment, stage_index: int) -> None:
        try:
            self._apply(dep, stage_index)
        except requests_timeout() as e:
            raise self.engines.did_not_answer(e) from e

    def _apply(self, dep: Deployment, stage_index: int) -> None:
        t, st = dep.topology, state(dep)
        for k, action in enumerate(t.stages[stage_index].actions):
            dep.hooks.gate("action", f"{stage_index}:{k}")
            if isinstance(action, Route):
                ep = dep.endpoints[action.target]
                if ep.netns is None:
                    raise DeployError(f"route on {action.target}: it is not running")
                if ep.netns == ROOT_NS:
                    dep.journal.record("route", str(action.subnet), via=str(action.via))
                with netlink_in(ep.netns) as nl:
                    nl.route(action.subnet, action.via)
                    if action.subnet6 is not None and action.via6 is not None:
                        nl.route(action.subnet6, action.via6)
            elif isinstance(action, Connect):
                self._connect(dep, action.container, action.network, action.address)
            elif isinstance(action, Disconnect):
                st.clients[t.container(action.container).node].api.disconnect_container_from_network(
                    st.containers[action.container], docker_network(st, action.network)
                )
            elif isinstance(action, Shim):
                self._shim(dep, action)
            elif isinstance(action, Forward):
                forward(dep, action)
            elif isinstance(action, UserRule):
                self._user_rule(dep, action)
        dep.stage_index = stage_index
        endpoints.refresh(dep)
        if t.dual_stack:
            endpoints.wait_ipv6_ready(dep)

    def _user_rule(self, dep: Deployment, action: UserRule) -> None:
        """`iptables -I DOCKER-USER N RULE` on the node, after the run's earlier ones, carrying the run's comment:
        journalled first, removed by exactly that rule (never by position or pattern)."""
        st = state(dep)
        if dep.facts.get("firewall_backend") == "nftables":
            raise EnvironmentProblem(
                f"Docker {dep.facts.get('docker')} runs its nftables firewall backend, which has no DOCKER-USER "
                "chain: the scenario's docker_user rules cannot be written (run it on netns with --engine 29)"
            )
        path = st.node_ns[action.node]
        spec = [*action.argv, "-m", "comment", "--comment", f"netlab:{dep.run}"]
        dep.journal.record("iptables-rule", "DOCKER-USER", netns=path, rule=spec)
        faults.point("docker.user_rule")
        position = st.user_rules.get(action.node, 0) + 1
        try:
            nsthread.run(path, ["iptables", "-w", "-I", "DOCKER-USER", str(position), *spec])
        except subprocess.CalledProcessError as e:
            raise DeployError(f"iptables refused DOCKER-USER rule {action.rule!r}: {e.stderr.strip()}") from e
        st.user_rules[action.node] = position

    def _shim(self, dep: Deployment, action: Shim) -> None:
        """A macvlan of the host's own on the parent, with /32 routes to the macvlan children."""
        t, st = dep.topology, state(dep)
        name = f"{naming.PREFIX}{dep.run}s{len(st.shims)}"
        if not st.private:
            dep.journal.record("link", name)
        if st.private:
            name = f"{action.lan[:10]}-shim"
        with netlink_in(st.node_ns[action.node]) as nl:
            idx = nl.macvlan(nl.index(st.uplinks[(action.node, action.lan)]), name, "bridge")
            nl.addr(idx, action.address, 32)
            nl.up(idx)
            for c in t.containers_at(dep.stage_index):
                for a in c.attachments:
                    net = t.network(a.network)
                    if net.driver == Driver.MACVLAN and net.parent == action.lan and a.address:
                        nl.route(IPv4Network(f"{a.address}/32"), None, oif=idx)
        st.shims.append((action.lan, action.address))

    def trace_root(self, dep: Deployment) -> str | None:
        """`--why`: the machine's own namespace, where Docker's rules live (single-node runs)."""
        st = state(dep)
        return None if st.private or st.engines else ROOT_NS

    def probing(self, dep: Deployment) -> Probing:
        """Containers on this machine's engines are entered; on remote ones probed through `docker exec`."""
        try:
            endpoints.refresh(dep)  # re-check every container is running and take its current pid
        except requests_timeout() as e:
            raise self.engines.did_not_answer(e) from e
        st = state(dep)
        return ThroughShells(dict(st.where)) if st.engines else FromNamespaces()

    # -- teardown -----------------------------------------------------------------

    def destroy(self, dep: Deployment) -> None:
        st = dep.state.get("docker")
        if isinstance(st, State) and st.private and not self.engines.hung:
            # kill the containers first (SIGKILL): a daemon stopping them itself waits for each one
            for name, cid in st.containers.items():
                try:
                    st.clients[dep.topology.container(name).node].api.remove_container(cid, force=True)
                except requests_timeout() as e:  # stopping the daemons below takes its containers along
                    self.engines.did_not_answer(e)
                    break
                except Exception:
                    continue
        self.cleanup(journals.read(dep.journal.path))

    def cleanup(self, record: RunRecord) -> list[str]:
        """Undo the journal in reverse; a Docker object is removed only if it carries the run's label."""
        removed: list[str] = []
        errors: list[str] = []
        left: list[str] = []
        prefix = naming.run_prefix(record.run)
        for entry in reversed(record.entries):
            faults.point("docker.teardown")
            try:
                engine = entry.extra.get("engine")
                if entry.kind in ("docker-container", "docker-network") and self.engines.hung:
                    left.append(f"{entry.kind[7:]} {entry.name}")  # asking again would wait as long again
                elif entry.kind == "docker-container" and entry.name.startswith(prefix):
                    removed += self.engines.remove(record.run, "containers", entry.name, engine)
                elif entry.kind == "docker-network" and entry.name.startswith(prefix):
                    removed += self.engines.remove(record.run, "networks", entry.name, engine)
                elif entry.kind == "link" and entry.name.startswith(f"{naming.PREFIX}{record.run}"):
                    with netlink_in(ROOT_NS) as nl, contextlib.suppress(LookupError):
                        nl.index(entry.name)
                        nl.delete(entry.name)
                        removed.append(f"link {entry.name}")
                elif entry.kind in ("dockerd", "podman") and daemons.stop_pid(
                    int(entry.name),
                    str(entry.extra["exec_root"]),
                    daemons.STOP_TIMEOUT_S if record.alive else daemons.DEAD_RUN_STOP_S,
                ):
                    removed.append(f"dockerd {entry.name}")
                elif entry.kind == "iptables-rule":
                    removed += _remove_rule(entry.extra["netns"], entry.name, entry.extra["rule"], record.run)
                elif entry.kind == "cgroup":
                    removed += cgroups.end(record.run, entry.name)
                elif entry.kind == "dir" and daemons.remove_dir(entry.name, record.run):
                    removed.append(f"dir {entry.name}")
                elif entry.kind == "netns" and entry.name.startswith(prefix) and nsthread.remove(entry.name):
                    removed.append(f"netns {entry.name}")
            except requests_timeout() as e:
                self.engines.did_not_answer(e)
                left.append(f"{entry.kind[7:]} {entry.name}")
            except Timeout as e:  # no client at all: the daemon did not answer its first request
                if self.engines.hung and entry.kind.startswith("docker-"):
                    left.append(f"{entry.kind[7:]} {entry.name}")
                else:
                    errors.append(f"{entry.kind} {entry.name}: {e}")
            except Exception as e:  # keep going: leave as little as possible behind
                errors.append(f"{entry.kind} {entry.name}: {e}")
        if left:
            raise Timeout(
                f"{self.engines.hung}; left for `netlab clean` (run it once the daemon answers again): "
                + ", ".join(left)
                + ("; also: " + "; ".join(errors) if errors else "")
            )
        if errors:
            raise DeployError("docker backend: teardown incomplete: " + "; ".join(errors))
        return removed


def _remove_rule(netns: str, chain: str, rule: list[str], run: str) -> list[str]:
    """Delete one rule the run inserted, by its exact text, which carries the run's comment; a rule already gone
    (or a namespace removed with its daemon) is nothing to do."""
    if rule[-2:] != ["--comment", f"netlab:{run}"]:
        raise DeployError(f"journal entry {chain} {' '.join(rule)}: not a rule of run {run}; left alone")
    if netns != ROOT_NS and not os.path.exists(netns):
        return []
    try:
        nsthread.run(netns, ["iptables", "-w", "-D", chain, *rule])
    except subprocess.CalledProcessError:
        return []  # not there (never inserted: the run died before; or removed already)
    return [f"iptables rule {chain} {' '.join(rule)}"]


def _port_taken(e: BaseException) -> bool:
    """The daemon refused a container because a port it publishes is bound already (its own words: the
    API has no error type for it)."""
    explanation = getattr(e, "explanation", None)
    return isinstance(explanation, str) and "port is already allocated" in explanation


def needs_private_nodes(t: Topology) -> bool:
    """Several nodes, overlay networks (swarm mode), daemon options of the scenario's own (Scenario.daemon:
    netlab never restarts the machine's daemon) or IPv6 (Docker turns IPv6 forwarding on where it creates an IPv6
    network: in a node namespace of the run's, not on the machine) need daemons netlab starts itself."""
    return len(t.nodes) > 1 or any(n.driver == Driver.OVERLAY for n in t.networks) or bool(t.daemon) or t.dual_stack


__all__ = ["DockerBackend"]


def _v6(net: Network, attachment: Attachment) -> str | None:
    """The IPv6 address netlab gives a container on a dual-stack network (`ip6=`, else its IPv4 host part)."""
    six = net.v6_for(attachment) if net.user_defined else None
    return str(six) if six is not None else None


def _links(dep: Deployment, c: Container) -> list[tuple[str, str]] | None:
    """Docker's links of a container on a user-defined network, as compose passes them: on every endpoint, by the
    linked container's name on the daemon."""
    return [(naming.ns_name(dep.run, target), alias) for target, alias in c.links] or None
