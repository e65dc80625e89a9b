"""The docker backend: a real Docker Engine builds every network and container of the scenario.

Every Docker object is named nl<run>-<object> and labelled netlab.run=<run> (plus scenario and role);
nothing else is touched. Lans and peers are namespaces as in the netns backend; the node's uplink
on a lan is a veth the run creates in the root namespace (nl<run>u<i>), with the node's lan address,
used as `parent` of macvlan/ipvlan networks. Probes run from the netlab process inside each
container's namespace (/proc/<pid>/ns/net), with the same engine as the netns backend.
Containers get the run's own resolver (a namespace netlab creates, answering NXDOMAIN) as their DNS
server, so no query reaches the machine's resolver.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from netlab import faults, nsthread, safety
from netlab.backends import cgroups, namespaces, naming
from netlab.backends import journal as journals
from netlab.backends.base import NO_HOOKS, Address, Backend, CapturePoint, Deployment, Endpoint, Hooks
from netlab.backends.docker import daemons, remote
from netlab.backends.docker import image as probe_image
from netlab.backends.journal import Journal, RunRecord
from netlab.backends.namespaces import Role
from netlab.backends.netns import lan as lans
from netlab.backends.netns.links import netlink_in, netns_fd
from netlab.errors import DeployError, EnvironmentProblem, KernelFeatureMissing, Timeout, UsageError
from netlab.kernel import features
from netlab.model.deployed import Listen
from netlab.model.probing import FromNamespaces, Probing, Shell, ThroughShells
from netlab.model.scenario import IFNAME_RE
from netlab.model.topology import (
    GWBRIDGE,
    Connect,
    Container,
    Disconnect,
    Driver,
    EndpointKind,
    Route,
    Shim,
    Topology,
)
from netlab.waiting import wait_until

#: the namespace netlab started in: the local engine's Docker host
ROOT_NS = nsthread.HOME
RESOLVER_BLOCK = IPv4Network("198.19.192.0/18")  # /30s for the run's resolver link, one per run
EMBEDDED_DNS = IPv4Address("127.0.0.11")
REMOTE_DNS = "127.0.0.1"  # remote engines: containers' upstream resolver is their own loopback (nothing there)
#: how long one request to a Docker daemon may take before netlab calls it hung (--daemon-timeout,
#: NETLAB_DAEMON_TIMEOUT); image imports and container starts on a loaded machine stay well below it
API_TIMEOUT_S = 60.0


def daemon_timeout() -> float:
    raw = os.environ.get("NETLAB_DAEMON_TIMEOUT", "")
    try:
        value = float(raw) if raw else API_TIMEOUT_S
    except ValueError as e:
        raise UsageError(f"NETLAB_DAEMON_TIMEOUT={raw!r}: not a number of seconds") from e
    if not 0 < value <= 3600:
        raise UsageError(f"daemon timeout {value:g}: give 0 < seconds <= 3600")
    return value


SWARM_TIMEOUT_S = 60.0


def labels(run: str, scenario: str, role: str) -> dict[str, str]:
    return {naming.LABEL_RUN: run, "netlab.scenario": scenario, "netlab.role": role}


@dataclass(slots=True)
class _State:
    ns: dict[str, str] = field(default_factory=dict)  # lans, peers, resolver -> namespace path
    uplinks: dict[tuple[str, str], str] = field(default_factory=dict)  # (node, lan) -> root-ns ifname
    networks: dict[str, str] = field(default_factory=dict)  # scenario network -> docker network name
    bridges: dict[tuple[str, str], str] = field(default_factory=dict)  # (node, bridge network) -> Linux bridge
    containers: dict[str, str] = field(default_factory=dict)  # scenario container -> docker container id
    resolver: IPv4Address | None = None
    shims: list[tuple[str, IPv4Address]] = field(default_factory=list)
    #: private mode: every node is a namespace with a dockerd of its own (multi-node, overlay/swarm)
    private: bool = False
    node_ns: dict[str, str] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)
    daemons: dict[str, daemons.PrivateDaemon] = field(default_factory=dict)
    #: remote mode (--node NAME=URL): engines netlab cannot enter; probes go through docker exec
    engines: dict[str, str] = field(default_factory=dict)  # node -> engine URL
    where: dict[str, Shell] = field(default_factory=dict)  # endpoint -> container its probes run in
    hostprobes: dict[str, str] = field(default_factory=dict)  # node -> id of its network_mode=host container


class DockerBackend(Backend):
    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        parent: str | None = None,
        base_url: str | None = None,
        nodes: dict[str, str] | None = None,
    ) -> None:
        self.image = image
        self.parent = parent
        self.base_url = base_url
        self.nodes = dict(nodes or {})  # remote engines: scenario node -> engine URL
        self._client: Any = None
        self._engines: dict[str, Any] = {}
        self.daemon_timeout = daemon_timeout()
        #: set when a daemon did not answer in time: teardown then leaves its objects to `netlab clean`
        #: instead of waiting for it again, object by object
        self._hung: str | None = None

    def uses_host_routes(self) -> bool:
        """Remote engines (--node) route on their own machines; netlab cannot see their routes."""
        return not self.nodes

    # -- daemon -------------------------------------------------------------
    def client(self) -> Any:
        if self._client is None:
            try:
                import docker
            except ImportError as e:
                raise EnvironmentProblem("the docker Python package is missing: pip install docker") from e
            try:
                c = (
                    docker.DockerClient(base_url=self.base_url, timeout=self.daemon_timeout)
                    if self.base_url
                    else docker.from_env(timeout=self.daemon_timeout)
                )
                c.ping()
            except Exception as e:
                where = self.base_url or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
                if "timed out" in str(e):
                    self._hung = (
                        f"the Docker daemon on {where} accepts connections but did not answer within "
                        f"{self.daemon_timeout:g} s"
                    )
                    raise Timeout(f"{self._hung}; it may be hung (see its log; --daemon-timeout sets the limit)") from e
                raise EnvironmentProblem(
                    f"no Docker daemon answers on {where} ({type(e).__name__}); start it (dockerd, or "
                    "systemctl start docker) or use --backend netns"
                ) from e
            self._client = c
        return self._client

    def version(self) -> str:
        if self.nodes:
            return ", ".join(
                f"{node}: {self.engine(url).version().get('Version', '?')}" for node, url in sorted(self.nodes.items())
            )
        return str(self.client().version().get("Version", "?"))

    def engine(self, url: str) -> Any:
        """A client for the engine at `url` (unix://, tcp://, ssh://user@host: the ssh client does the transport)."""
        if url not in self._engines:
            import docker

            try:
                c = docker.DockerClient(
                    base_url=url, timeout=self.daemon_timeout, use_ssh_client=url.startswith("ssh://")
                )
                c.ping()
            except Exception as e:
                if "paramiko" in str(e):  # the SDK imports its ssh transport only with paramiko present
                    raise EnvironmentProblem(
                        f"{url}: ssh:// engines need the paramiko package: pip install 'netlab-cnm[ssh]'"
                    ) from e
                raise EnvironmentProblem(
                    f"no Docker engine answers at {url} ({type(e).__name__}: {e}); check the URL given to --node"
                ) from e
            self._engines[url] = c
        return self._engines[url]

    # -- check ----------------------------------------------------------------
    def check(self, topology: Topology | None) -> None:
        if self.nodes:
            self._check_remote(topology)
            return
        safety.require_privileges("the docker backend")
        if self.parent is not None and (
            not IFNAME_RE.match(self.parent) or not os.path.exists(f"/sys/class/net/{self.parent}")
        ):
            raise UsageError(f"--parent {self.parent}: no such network interface on this host (see `ip link`)")
        self.client()
        if topology is None:
            return
        if needs_private_nodes(topology) and (shutil.which("dockerd") is None or shutil.which("nsenter") is None):
            raise EnvironmentProblem(
                f"scenario {topology.name!r} needs private Docker daemons (several nodes or overlay networks): "
                "dockerd and nsenter must be installed (apt-get install docker.io util-linux)"
            )
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
                raise KernelFeatureMissing(f"{kind}: this kernel cannot create {kind} links: {kinds[kind]}")
        features.require_neighbour_room(topology)
        if shutil.which("ip") is None:
            raise EnvironmentProblem("ip (iproute2) not found: apt-get install iproute2")

    def _check_remote(self, t: Topology | None) -> None:
        """What a scenario may use on engines netlab cannot enter; every problem before anything is created."""
        if t is not None:
            names = [n.name for n in t.nodes]
            unknown = sorted(set(self.nodes) - set(names))
            if unknown:
                raise UsageError(
                    f"--node {unknown[0]}: scenario {t.name!r} has no such node (nodes: {', '.join(names)})"
                )
            missing = [n for n in names if n not in self.nodes]
            if missing:
                raise UsageError(
                    f"--node: every node needs an engine; missing {', '.join(f'{n}=URL' for n in missing)}"
                )
            local = [*(lan.name for lan in t.lans), *(p.name for p in t.peers)]
            if local:
                raise UsageError(
                    f"scenario {t.name!r} has lans/peers ({', '.join(local)}): they are namespaces on this machine "
                    "and cannot be wired to a remote engine; --node runs scenarios without lans and peers"
                )
            for net in t.networks:
                if net.driver in (Driver.MACVLAN, Driver.IPVLAN) and not self.parent:
                    raise UsageError(
                        f"network {net.name!r} ({net.driver}) needs a parent NIC on the remote host: name it with "
                        "--parent IFACE (netlab never picks a real NIC itself)"
                    )
            for stage in t.stages:
                for action in stage.actions:
                    if isinstance(action, (Route, Shim)):
                        raise UsageError(
                            f"stage {stage.name!r}: {type(action).__name__.lower()} would change a remote host's own "
                            "routes or links, which netlab never does; --node runs connect/disconnect stages only"
                        )
        clients = {node: self.engine(url) for node, url in sorted(self.nodes.items())}
        if t is not None and any(net.driver == Driver.OVERLAY for net in t.networks):
            manager = clients[t.nodes[0].name].info().get("Swarm") or {}
            if manager.get("LocalNodeState") != "active" or not manager.get("ControlAvailable"):
                raise EnvironmentProblem(
                    f"overlay on remote engines: the engine of {t.nodes[0].name!r} must be a manager of an active "
                    "swarm that every other node's engine has joined; netlab never changes the swarm state of "
                    "engines it did not start"
                )
            members = {n.attrs.get("ID") for n in clients[t.nodes[0].name].nodes.list()}
            for node, c in clients.items():
                if (c.info().get("Swarm") or {}).get("NodeID") not in members:
                    raise EnvironmentProblem(f"overlay on remote engines: the engine of {node!r} is not in the swarm")

    # -- deploy -----------------------------------------------------------------
    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        dep = Deployment(run=run, backend=self.name, topology=topology, journal=journal, hooks=hooks)
        st = _State()
        dep.state["docker"] = st
        t = topology
        st.private = not self.nodes and needs_private_nodes(t)
        dep.facts["docker"] = self.version()
        try:
            if self.nodes:
                st.engines = dict(self.nodes)
                st.clients = {node: self.engine(url) for node, url in st.engines.items()}
            elif st.private:
                for node in t.nodes:
                    st.node_ns[node.name] = self._netns(dep, node.name, Role.FRESH_HOST)
            else:
                st.node_ns[t.nodes[0].name] = ROOT_NS
                st.clients[t.nodes[0].name] = self.client()
                dep.firewall_baseline[t.nodes[0].name] = (ROOT_NS, hooks.read_firewall(ROOT_NS))
            if not self.nodes:
                for obj in [*(lan.name for lan in t.lans), *(p.name for p in t.peers)]:
                    st.ns[obj] = self._netns(dep, obj, Role.PLAIN)
                for x in t.lans:
                    dep.hooks.gate("lan", x.name)
                faults.point("docker.uplinks")
                self._uplinks(dep)
                faults.point("docker.resolver")
                self._resolver(dep)
            if st.private:
                self._private_daemons(dep)
                for name, path in st.node_ns.items():  # each daemon is up, no network of the scenario yet
                    dep.firewall_baseline[name] = (path, hooks.read_firewall(path))
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
                    self._hostprobe(dep, node.name, images[node.name])
            self._endpoints(dep)
        except requests_timeout() as e:
            raise self._did_not_answer(e) from e
        except (OSError, subprocess.SubprocessError, LookupError) as e:
            raise DeployError(f"docker backend: deploying {t.name!r} failed: {e}") from e
        except Exception as e:
            if type(e).__module__.startswith(("docker", "pyroute2", "requests")):
                hint = (
                    "; a published host port exists once per machine: another run of a scenario publishing it, "
                    "or a service of this host, holds it (stop that, or run such scenarios one at a time)"
                    if "port is already allocated" in str(e)
                    else ""
                )
                raise DeployError(f"docker backend: deploying {t.name!r} failed: {e}{hint}") from e
            raise
        return dep

    def _netns(self, dep: Deployment, obj: str, role: Role) -> str:
        path = namespaces.create(dep.journal, dep.run, obj, role)
        with netlink_in(path) as nl:
            nl.up(nl.index("lo"))
        return path

    def _uplinks(self, dep: Deployment) -> None:
        """The node's uplinks are veths in the root namespace, one per lan, created by this run."""
        t, st = dep.topology, _state(dep)
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
                nl.addr(idx, u.address, t.lan(u.lan).subnet.prefixlen)
                nl.up(idx)

    def _resolver(self, dep: Deployment) -> None:
        """The run's own DNS upstream: a namespace on a /30 link from the root namespace."""
        st, t = _state(dep), dep.topology
        st.ns["dns"] = self._netns(dep, "dns", Role.PLAIN)
        if st.private:
            # nodes are namespaces: the resolver sits on the first lan like a server of the site
            lan = t.lans[0]
            used = {u.address for u in t.uplinks} | {p.address for p in t.peers}
            ns_ip = next(a for a in reversed(list(lan.subnet.hosts())) if a not in used)
            with netns_fd(st.ns["dns"]) as fd, netlink_in(st.ns[lan.name]) as nl:
                idx = nl.veth("dns", "eth0", fd)
                nl.up(idx, master=nl.index(lan.name))
            with netlink_in(st.ns["dns"]) as nl:
                idx = nl.index("eth0")
                nl.addr(idx, ns_ip, lan.subnet.prefixlen)
                nl.up(idx)
            st.resolver = ns_ip
            return
        link = _resolver_link(dep.run)
        host_ip, ns_ip = list(link.hosts())
        name = f"{naming.PREFIX}{dep.run}r"
        dep.journal.record("link", name)
        with netns_fd(st.ns["dns"]) as fd, netlink_in(ROOT_NS) as nl:
            idx = nl.veth(name, "eth0", fd)
            nl.addr(idx, host_ip, link.prefixlen)
            nl.up(idx)
        with netlink_in(st.ns["dns"]) as nl:
            idx = nl.index("eth0")
            nl.addr(idx, ns_ip, link.prefixlen)
            nl.up(idx)
        st.resolver = ns_ip

    def _network(self, dep: Deployment, net: Any, node: str) -> None:
        import docker.types

        t, st = dep.topology, _state(dep)
        name = naming.ns_name(dep.run, net.name)
        options = dict(net.options)
        driver = str(net.driver)
        if net.driver in (Driver.MACVLAN, Driver.IPVLAN):
            options["parent"] = self.parent or st.uplinks[(node, str(net.parent))]
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
        if not st.private:  # a private daemon's objects go with the daemon
            self._record(dep, "docker-network", name, node)
        created = st.clients[node].networks.create(
            name,
            driver=driver,
            options=options,
            ipam=docker.types.IPAMConfig(pool_configs=pools),
            internal=net.internal,
            check_duplicate=True,
            attachable=True,
            labels=labels(dep.run, t.name, "network"),
        )
        st.networks[net.name] = name
        if net.driver == Driver.BRIDGE:
            st.bridges[(node, net.name)] = str(
                net.options.get("com.docker.network.bridge.name") or f"br-{created.id[:12]}"
            )

    def _docker_network(self, st: _State, network: str) -> str:
        return st.networks.get(network, network)  # predefined: bridge, host, none by their own names

    def _container(self, dep: Deployment, c: Container, image: str) -> None:
        t, st = dep.topology, _state(dep)
        api = st.clients[c.node].api
        first = c.attachments[0]
        first_net = t.network(first.network)
        name = naming.ns_name(dep.run, c.name)
        endpoint = api.create_endpoint_config(
            ipv4_address=str(first.address) if first.address and first_net.user_defined else None
        )
        ports = [p.container_port for p in c.publish] if first_net.driver != Driver.HOST else []
        host_config = api.create_host_config(
            network_mode=self._docker_network(st, first.network),
            port_bindings={f"{p.container_port}/tcp": p.host_port for p in c.publish} if ports else None,
            # remote engines: the container's own loopback, where nothing answers (Docker's embedded DNS then
            # forwards unknown names there, inside the container): no query reaches the remote host's resolver
            dns=[str(st.resolver)] if st.resolver else ([REMOTE_DNS] if st.engines else None),
        )
        if not st.private:
            self._record(dep, "docker-container", name, c.node)
        faults.point("docker.container.create")
        created = api.create_container(
            image,
            name=name,
            hostname=c.name,
            labels=labels(dep.run, t.name, "container"),
            host_config=host_config,
            ports=ports or None,
            networking_config=api.create_networking_config({self._docker_network(st, first.network): endpoint}),
        )
        cid = created["Id"]
        st.containers[c.name] = cid
        for att in c.attachments[1:]:
            if att.network != GWBRIDGE:  # Docker attaches overlay containers to docker_gwbridge itself
                self._connect(dep, c.name, att.network, att.address)
        faults.point("docker.container.start")
        api.start(cid)

    def _record(self, dep: Deployment, kind: str, name: str, node: str) -> None:
        engine = _state(dep).engines.get(node)
        if engine:
            dep.journal.record(kind, name, engine=engine)
        else:
            dep.journal.record(kind, name)

    def _hostprobe(self, dep: Deployment, node: str, image: str) -> None:
        """Remote mode: a container sharing the remote host's namespace, from which the node's probes run."""
        st = _state(dep)
        api = st.clients[node].api
        name = naming.ns_name(dep.run, f"{node}-host")
        self._record(dep, "docker-container", name, node)
        created = api.create_container(
            image,
            name=name,
            labels=labels(dep.run, dep.topology.name, "hostprobe"),
            host_config=api.create_host_config(network_mode="host", dns=[REMOTE_DNS]),
        )
        api.start(created["Id"])
        st.hostprobes[node] = created["Id"]

    def _connect(self, dep: Deployment, container: str, network: str, address: IPv4Address | None) -> None:
        faults.point("docker.connect")
        st = _state(dep)
        net = dep.topology.network(network)
        st.clients[dep.topology.container(container).node].api.connect_container_to_network(
            st.containers[container],
            self._docker_network(st, network),
            ipv4_address=str(address) if address and net.user_defined else None,
        )

    def _inspect(self, dep: Deployment, container: str) -> dict[str, Any]:
        st = _state(dep)
        info: dict[str, Any] = st.clients[dep.topology.container(container).node].api.inspect_container(
            st.containers[container]
        )
        return info

    def _endpoints(self, dep: Deployment) -> None:
        t, st = dep.topology, _state(dep)
        eps: dict[str, Endpoint] = {}
        node_addrs: dict[str, list[Address]] = {}
        for n in t.nodes:
            node = n.name
            addrs = [Address(u.lan, f"lan:{u.lan}", u.address) for u in t.uplinks_of(node)]
            for net in t.networks_on(node):
                if net.driver != Driver.BRIDGE:
                    continue
                gw = self._gateway(dep, net.name, node)
                if gw is not None:
                    addrs.append(Address(net.name, t.segment(net.name, node), gw))
            if node == t.nodes[0].name:
                addrs += [Address(f"{lan}-shim", f"lan:{lan}", addr) for lan, addr in st.shims]
            node_addrs[node] = addrs
            eps[node] = Endpoint(node, EndpointKind.HOST, node, st.node_ns.get(node), addrs)
            if node in st.hostprobes:
                st.where[node] = remote.shell(st.clients[node].api, st.hostprobes[node], shares_host=True)
        dep.resolvers.clear()
        dep.dns_servers[:] = [Listen(st.ns["dns"], "dns", 53, bind=str(st.resolver))] if st.resolver else []
        for c in t.containers_at(dep.stage_index):
            info = self._inspect(dep, c.name)
            state = info["State"]
            if not state.get("Running") or not state.get("Pid"):
                eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, None, [])
                continue
            pid = int(state["Pid"])
            host_net = any(t.network(a.network).driver == Driver.HOST for a in c.attachments)
            if st.engines:  # remote: the pid is the remote host's; probes go through docker exec
                st.where[c.name] = remote.shell(st.clients[c.node].api, info["Id"], shares_host=host_net)
            if host_net:
                node_ep = eps[c.node]
                eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, node_ep.netns, list(node_addrs[c.node]))
                continue
            nets = info["NetworkSettings"]["Networks"]
            addrs = []
            for a in c.attachments:
                if a.network == GWBRIDGE:
                    ip = self._gwbridge_address(dep, c.node, info["Id"])
                else:
                    ip = nets.get(self._docker_network(st, a.network), {}).get("IPAddress")
                if ip:
                    addrs.append(Address(a.network, t.segment(a.network, c.node), IPv4Address(ip)))
            if st.engines:
                eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, None, addrs)
                user_defined = any(t.network(a.network).user_defined for a in c.attachments if a.network != GWBRIDGE)
                dep.resolvers[c.name] = EMBEDDED_DNS if user_defined else IPv4Address(REMOTE_DNS)
                continue
            eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, f"/proc/{pid}/ns/net", addrs)
            resolver = _nameserver(pid)
            if resolver is not None:
                dep.resolvers[c.name] = resolver
        for p in t.peers:
            eps[p.name] = Endpoint(
                p.name, EndpointKind.PEER, None, st.ns[p.name], [Address(p.lan, f"lan:{p.lan}", p.address)]
            )
        if st.resolver is not None:
            for n in t.nodes:
                dep.resolvers[n.name] = st.resolver
        dep.endpoints = {name: eps[name] for name in t.endpoint_names()}
        dep.capture_points = self._capture_points(dep)

    def _capture_points(self, dep: Deployment) -> list[CapturePoint]:
        """The lans, and every node's Linux bridges; none on remote engines (netlab cannot enter them).
        A bridge of a daemon netlab did not start (its docker0, a swarm's docker_gwbridge) is captured
        without promiscuous mode: its flags are not netlab's to change."""
        t, st = dep.topology, _state(dep)
        if st.engines:
            return []
        points = [CapturePoint(lan.name, st.ns[lan.name], lan.name, "lan") for lan in t.lans]
        for node in t.nodes:
            for net in t.networks_on(node.name):
                if net.driver != Driver.BRIDGE:
                    continue
                ours = st.private or not net.predefined
                ifname = st.bridges.get((node.name, net.name)) or ("docker0" if net.name == "bridge" else net.name)
                ns = st.node_ns[node.name]
                points.append(CapturePoint(f"{node.name}-{net.name}", ns, ifname, "bridge", node.name, promisc=ours))
        return points

    def _gwbridge_address(self, dep: Deployment, node: str, cid: str) -> str | None:
        """An overlay container's hidden endpoint on docker_gwbridge (named gateway_<id>)."""
        info = _state(dep).clients[node].api.inspect_network(GWBRIDGE)
        ep = (info.get("Containers") or {}).get(cid)
        return str(ep["IPv4Address"]).split("/")[0] if ep else None

    def _gateway(self, dep: Deployment, network: str, node: str) -> IPv4Address | None:
        st = _state(dep)
        info = st.clients[node].api.inspect_network(self._docker_network(st, network))
        for cfg in info.get("IPAM", {}).get("Config") or []:
            if cfg.get("Gateway"):
                return IPv4Address(cfg["Gateway"].split("/")[0])
        return None

    # -- stages -------------------------------------------------------------------
    def apply(self, dep: Deployment, stage_index: int) -> None:
        try:
            self._apply(dep, stage_index)
        except requests_timeout() as e:
            raise self._did_not_answer(e) from e

    def _did_not_answer(self, e: BaseException) -> Timeout:
        """A request ran out of time: the daemon is taken as hung from here on (see cleanup)."""
        req = getattr(e, "request", None)
        what = f"{req.method} {req.path_url}" if req is not None else "a request"
        where = self.base_url or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        pool: Any = getattr(e.args[0] if e.args else None, "pool", None)  # urllib3's error names its pool
        if getattr(pool, "socket_path", None):  # a private daemon's socket, or the machine's
            where = f"unix://{pool.socket_path}"
        elif getattr(pool, "host", None) and getattr(pool, "port", None):
            where = f"tcp://{pool.host}:{pool.port}"
        self._hung = f"the Docker daemon on {where} did not answer {what} within {self.daemon_timeout:g} s"
        return Timeout(f"{self._hung}; it may be hung (see its log; --daemon-timeout sets the limit)")

    def _apply(self, dep: Deployment, stage_index: int) -> None:
        t, st = dep.topology, _state(dep)
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
            elif isinstance(action, Connect):
                self._connect(dep, action.container, action.network, action.address)
            elif isinstance(action, Disconnect):
                st.clients[t.container(action.container).node].api.disconnect_container_from_network(
                    st.containers[action.container], self._docker_network(st, action.network)
                )
            elif isinstance(action, Shim):
                self._shim(dep, action)
        dep.stage_index = stage_index
        self._endpoints(dep)

    def _shim(self, dep: Deployment, action: Shim) -> None:
        """A macvlan of the host's own on the parent, with /32 routes to the macvlan children."""
        t, st = dep.topology, _state(dep)
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
        st = _state(dep)
        return None if st.private or st.engines else ROOT_NS

    def probing(self, dep: Deployment) -> Probing:
        """Containers on this machine's engines are entered; on remote ones probed through `docker exec`."""
        try:
            self._endpoints(dep)  # re-check every container is running and take its current pid
        except requests_timeout() as e:
            raise self._did_not_answer(e) from e
        st = _state(dep)
        return ThroughShells(dict(st.where)) if st.engines else FromNamespaces()

    # -- teardown -----------------------------------------------------------------
    def destroy(self, dep: Deployment) -> None:
        st = dep.state.get("docker")
        if isinstance(st, _State) and st.private and not self._hung:
            # kill the containers first (SIGKILL): a daemon stopping them itself waits for each one
            for name, cid in st.containers.items():
                try:
                    st.clients[dep.topology.container(name).node].api.remove_container(cid, force=True)
                except requests_timeout() as e:  # stopping the daemons below takes its containers along
                    self._did_not_answer(e)
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
                if entry.kind in ("docker-container", "docker-network") and self._hung:
                    left.append(f"{entry.kind[7:]} {entry.name}")  # asking again would wait as long again
                elif entry.kind == "docker-container" and entry.name.startswith(prefix):
                    removed += self._remove(record.run, "containers", entry.name, engine)
                elif entry.kind == "docker-network" and entry.name.startswith(prefix):
                    removed += self._remove(record.run, "networks", entry.name, engine)
                elif entry.kind == "link" and entry.name.startswith(f"{naming.PREFIX}{record.run}"):
                    with netlink_in(ROOT_NS) as nl, contextlib.suppress(LookupError):
                        nl.index(entry.name)
                        nl.delete(entry.name)
                        removed.append(f"link {entry.name}")
                elif entry.kind == "dockerd" and daemons.stop_pid(int(entry.name), str(entry.extra["exec_root"])):
                    removed.append(f"dockerd {entry.name}")
                elif entry.kind == "cgroup":
                    removed += cgroups.end(record.run, entry.name)
                elif entry.kind == "dir" and daemons.remove_dir(entry.name, record.run):
                    removed.append(f"dir {entry.name}")
                elif entry.kind == "netns" and entry.name.startswith(prefix) and nsthread.remove(entry.name):
                    removed.append(f"netns {entry.name}")
            except requests_timeout() as e:
                self._did_not_answer(e)
                left.append(f"{entry.kind[7:]} {entry.name}")
            except Timeout as e:  # no client at all: the daemon did not answer its first request
                if self._hung and entry.kind.startswith("docker-"):
                    left.append(f"{entry.kind[7:]} {entry.name}")
                else:
                    errors.append(f"{entry.kind} {entry.name}: {e}")
            except Exception as e:  # keep going: leave as little as possible behind
                errors.append(f"{entry.kind} {entry.name}: {e}")
        if left:
            raise Timeout(
                f"{self._hung}; left for `netlab clean` (run it once the daemon answers again): "
                + ", ".join(left)
                + ("; also: " + "; ".join(errors) if errors else "")
            )
        if errors:
            raise DeployError("docker backend: teardown incomplete: " + "; ".join(errors))
        return removed

    def _private_daemons(self, dep: Deployment) -> None:
        """A dockerd per node inside the node's namespace; a swarm of them when overlays are used."""
        t, st = dep.topology, _state(dep)
        for i, n in enumerate(t.nodes):
            faults.point("docker.daemon")
            d = daemons.start(dep.run, n.name, i, st.node_ns[n.name], st.resolver, dep.journal, self.daemon_timeout)
            st.daemons[n.name] = d
            st.clients[n.name] = d.client
        if not any(net.driver == Driver.OVERLAY for net in t.networks):
            return
        manager = t.nodes[0].name
        underlay = t.lans[0].name
        mgr_ip = t.uplink(manager, underlay)
        assert mgr_ip is not None
        _, pool = daemons.addressing(dep.run, len(t.nodes))
        faults.point("docker.swarm.init")
        st.clients[manager].swarm.init(
            advertise_addr=str(mgr_ip.address),
            listen_addr=f"{mgr_ip.address}:2377",
            default_addr_pool=[pool],
            subnet_size=24,
        )
        token = st.clients[manager].swarm.attrs["JoinTokens"]["Worker"]
        for n in t.nodes[1:]:
            up = t.uplink(n.name, underlay)
            assert up is not None
            faults.point("docker.swarm.join")
            st.clients[n.name].swarm.join(
                remote_addrs=[f"{mgr_ip.address}:2377"],
                join_token=token,
                listen_addr=f"{up.address}:2377",
                advertise_addr=str(up.address),
            )
        wait_until(
            lambda: _ready_nodes(st.clients[manager]) >= len(t.nodes),
            SWARM_TIMEOUT_S,
            f"all {len(t.nodes)} swarm nodes ready",
        )

    def _remove(self, run: str, kind: str, name: str, engine: str | None = None) -> list[str]:
        import docker.errors

        collection = getattr(self.engine(engine) if engine else self.client(), kind)
        try:
            obj = collection.get(name)
        except docker.errors.NotFound:
            return []
        found = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}  # network / container
        if found.get(naming.LABEL_RUN) != run:
            return []  # same name, not ours: never touch it
        if kind == "containers":
            obj.remove(force=True, v=True)
        else:
            obj.remove()
        return [f"{kind[:-1]} {name}"]


def requests_timeout() -> tuple[type[BaseException], ...]:
    """The exception a docker SDK call raises when the daemon does not answer within the client's timeout."""
    try:
        from requests.exceptions import Timeout as RequestsTimeout
    except ImportError:  # no docker SDK, no requests: nothing can time out
        return ()
    return (RequestsTimeout,)


def _ready_nodes(client: Any) -> int:
    return sum(1 for n in client.nodes.list() if n.attrs.get("Status", {}).get("State") == "ready")


def needs_private_nodes(t: Topology) -> bool:
    """Several nodes, or overlay networks (swarm mode), need daemons netlab starts itself."""
    return len(t.nodes) > 1 or any(n.driver == Driver.OVERLAY for n in t.networks)


def _state(dep: Deployment) -> _State:
    st = dep.state["docker"]
    assert isinstance(st, _State)
    return st


def _resolver_link(run: str) -> IPv4Network:
    """A /30 for the resolver link, derived from the run id and clear of the host's routes."""
    links = list(RESOLVER_BLOCK.subnets(new_prefix=30))
    used = _host_routes()
    start = int(run, 16) % len(links)
    for i in range(len(links)):
        cand = links[(start + i) % len(links)]
        if not any(cand.overlaps(r) for r in used):
            return cand
    raise EnvironmentProblem(f"no free /30 in {RESOLVER_BLOCK} for the run's resolver")


def _host_routes() -> list[IPv4Network]:
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=False)
    nets = []
    for line in out.stdout.splitlines():
        first = line.split()[0] if line.split() else ""
        if first in ("default", "broadcast", "local", "unreachable", "blackhole", "prohibit"):
            first = line.split()[1] if first in ("broadcast", "local") and len(line.split()) > 1 else ""
        with contextlib.suppress(ValueError):
            if first:
                nets.append(IPv4Network(first, strict=False))
    return nets


def _nameserver(pid: int) -> IPv4Address | None:
    """The first nameserver of the container's resolv.conf, read through its root."""
    try:
        with open(f"/proc/{pid}/root/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return IPv4Address(parts[1])
    except (OSError, ValueError):
        return None
    return None


__all__ = ["DockerBackend"]
