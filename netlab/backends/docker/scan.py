"""`netlab scan`: containers somebody else started (a compose project, or containers named on the command line),
measured as they are. Nothing is created, changed or removed in them: the topology is read from `docker inspect`,
probes are sent from sockets netlab opens in each container's network namespace (as the docker backend does),
and only what already listens there answers.

What is measured: ICMP between every pair of endpoints (the containers and this machine), TCP to every port a
container listens on (read from its namespace's socket table, /proc/<pid>/net/tcp; not for a host-network
container, whose table is the machine's), TCP or UDP to every port it exposes or publishes, from every other
endpoint; the DNS name of every other container from each container whose resolver is Docker's embedded server.
A DNS query that server would forward upstream (a name it does not know: one on no network the two share) would
leave the machine, so it is withheld and the cell says so, unless the container's own `dns:` servers are its
loopback; that holds for every DNS probe, an --expect file's included. No --why: tracing adds nftables rules
inside the namespaces.

Only networks on this machine's bridges are scanned (bridge, and the host and none modes): a macvlan, ipvlan
or overlay network's probes would cross a real NIC, so a container on one is refused with exit 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from typing import Any

from netlab.backends.base import NO_HOOKS, Backend, Deployment, Hooks
from netlab.backends.docker import daemonconfig
from netlab.backends.docker.engine import Engines, requests_timeout
from netlab.backends.docker.engine import daemon_timeout as default_daemon_timeout
from netlab.backends.docker.state import EMBEDDED_DNS, ROOT_NS
from netlab.backends.journal import Journal, RunRecord
from netlab.errors import UsageError
from netlab.model.declarations import NAME_RE
from netlab.model.deployed import Address, Endpoint
from netlab.model.probing import FromNamespaces, Probing
from netlab.model.topology import (
    HOST,
    INITIAL,
    Attachment,
    Container,
    Driver,
    EndpointKind,
    Measurement,
    Network,
    Node,
    Probe,
    ProbeKind,
    Publish,
    Stage,
    Topology,
)
from netlab.safety import require_privileges

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NETWORK_LABEL = "com.docker.compose.network"
NUMBER_LABEL = "com.docker.compose.container-number"
SCANNED_DRIVERS = {"bridge": Driver.BRIDGE, "host": Driver.HOST, "null": Driver.NONE}
TCP_LISTEN = "0A"


@dataclass(slots=True)
class Scanned:
    """One running container as netlab scans it."""

    name: str  # the name in tables: the compose service (one container each), else the container's name
    id: str
    pid: int
    #: network name in tables -> (Docker's network name, its address there or None, the names Docker's embedded
    #: DNS answers with that address: its aliases and, on user-defined networks, the container's name)
    networks: dict[str, tuple[str, IPv4Address | None, tuple[str, ...]]] = field(default_factory=dict)
    mode: str = ""  # "host", "none", "container:<name in tables>" or "" (its own namespace)
    resolver: IPv4Address | None = None
    #: the servers Docker's embedded DNS forwards unknown names to, when the container names them (`--dns`)
    upstreams: tuple[str, ...] = ()
    ports: set[tuple[str, int]] = field(default_factory=set)  # (proto, port) to probe
    #: the name compose made up for the container (project_service_N): answered, but not measured, as
    #: `netlab compose` does not measure it either
    made_up: str = ""
    docker_name: str = ""  # its name on the daemon
    #: Docker's links on its user-defined networks: (the linked container's name on the daemon, alias)
    links: tuple[tuple[str, str], ...] = ()
    #: the networks whose endpoint carries each link (Docker keeps links per endpoint; compose puts them on all)
    linked_on: dict[tuple[str, str], set[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Found:
    topology: Topology
    containers: dict[str, Scanned]
    #: network name in tables -> this machine's address on it (the bridge's gateway)
    gateways: dict[str, IPv4Address]
    #: measured cells not sent, with why
    withheld: dict[tuple[str, str, str], str]
    #: per container, the only names it may ask its resolver for (None: any, its own DNS servers are its loopback)
    dns_names: dict[str, frozenset[str] | None] = field(default_factory=dict)


def find(client: Any, project: str | None, names: list[str]) -> Found:
    """What is running: the containers of `project` (by compose's label) and those `names` name."""
    if not project and not names:
        raise UsageError("netlab scan: name a compose project (--project NAME) or containers to scan")
    infos: dict[str, dict[str, Any]] = {}
    if project:
        listed = client.api.containers(filters={"label": f"{PROJECT_LABEL}={project}"})
        if not listed:
            raise UsageError(
                f"netlab scan: no running container carries the label {PROJECT_LABEL}={project} "
                "(`docker compose ls` names the projects; is it up?)"
            )
        for c in listed:
            infos[c["Id"]] = client.api.inspect_container(c["Id"])
    for name in names:
        try:
            info = client.api.inspect_container(name)
        except Exception as e:  # docker.errors.NotFound, or an API error naming why
            raise UsageError(f"netlab scan: container {name!r}: {_reason(e)} (`docker ps` lists them)") from None
        if not info["State"].get("Running"):
            raise UsageError(f"netlab scan: container {name!r} is not running; start it first")
        infos[info["Id"]] = info
    return _topology(client, project, list(infos.values()))


def _reason(e: Exception) -> str:
    explanation = getattr(e, "explanation", None)
    return str(explanation or e)


def _table_names(infos: list[dict[str, Any]]) -> dict[str, str]:
    """Container id -> its name in tables: the compose service where one container runs it, else its name."""
    per_service: dict[str, int] = {}
    for info in infos:
        svc = (info["Config"].get("Labels") or {}).get(SERVICE_LABEL)
        if svc:
            per_service[svc] = per_service.get(svc, 0) + 1
    out: dict[str, str] = {}
    for info in infos:
        svc = (info["Config"].get("Labels") or {}).get(SERVICE_LABEL)
        out[info["Id"]] = svc if svc and per_service[svc] == 1 else info["Name"].lstrip("/")
    taken: dict[str, str] = {}
    for cid, name in out.items():
        if not NAME_RE.match(name) or name == HOST:
            raise UsageError(f"netlab scan: container name {name!r} cannot be a name in netlab's tables")
        if name.lower() in taken:
            raise UsageError(f"netlab scan: two containers are called {name!r} (ignoring case)")
        taken[name.lower()] = cid
    return out


def _topology(client: Any, project: str | None, infos: list[dict[str, Any]]) -> Found:
    names = _table_names(infos)
    by_id = {info["Id"]: info for info in infos}
    nets: dict[str, Network] = {}
    docker_names: dict[str, str] = {}  # Docker's network name -> name in tables
    created: dict[str, str] = {}  # Docker's network name -> when it was created (RFC 3339, sorts as time)
    gateways: dict[str, IPv4Address] = {}
    scanned: dict[str, Scanned] = {}
    for info in sorted(infos, key=lambda i: names[i["Id"]]):
        name = names[info["Id"]]
        state = info["State"]
        c = Scanned(name, info["Id"], int(state["Pid"]), docker_name=info["Name"].lstrip("/"))
        mode = str(info["HostConfig"].get("NetworkMode") or "")
        if mode.startswith("container:"):
            target = mode.split(":", 1)[1]
            other = next((i for i in infos if target in (i["Id"], i["Name"].lstrip("/"))), None)
            if other is None:
                raise UsageError(
                    f"netlab scan: {name!r} shares the namespace of container {target[:12]!r}; scan that one too"
                )
            c.mode = f"container:{names[other['Id']]}"
        for docker_net, ep in sorted((info["NetworkSettings"].get("Networks") or {}).items()):
            if docker_net not in docker_names:
                net, created[docker_net] = _network(client, docker_net, project)
                if net.name in nets:
                    raise UsageError(f"netlab scan: two networks would be called {net.name!r} in the tables")
                nets[net.name] = net
                docker_names[docker_net] = net.name
                if net.gateway is not None:
                    gateways[net.name] = net.gateway
            net = nets[docker_names[docker_net]]
            if net.driver == Driver.HOST:
                c.mode = "host"
            elif net.driver == Driver.NONE:
                c.mode = c.mode or "none"
            addr = IPv4Address(ep["IPAddress"]) if ep.get("IPAddress") else None
            aliases = tuple(a for a in ep.get("Aliases") or [] if not info["Id"].startswith(a))
            if net.driver == Driver.BRIDGE and not net.predefined:
                aliases += (info["Name"].lstrip("/"),)  # Docker answers with a container's name on its networks
            c.networks[net.name] = (docker_net, addr, aliases)
            if not net.predefined:
                for link in map(_link, ep.get("Links") or []):
                    c.linked_on.setdefault(link, set()).add(net.name)
        if _compose_default(info):
            c.made_up = info["Name"].lstrip("/")
        c.resolver = _nameserver(c.pid)
        c.upstreams = tuple(str(s) for s in info["HostConfig"].get("Dns") or [])
        # a host-network container's socket table is the machine's: only what it exposes or publishes is its own
        c.ports = _ports(info, None if c.mode == "host" else c.pid)
        scanned[name] = c
    # networks in the order Docker created them (as compose created them), Docker's own first: how the docker
    # backend lists a node's networks in, which decides the address at which a container reaches this machine
    rank = {docker_names[d]: (not nets[docker_names[d]].predefined, _when(t)) for d, t in created.items()}
    nets = {n: nets[n] for n in sorted(nets, key=lambda n: rank[n])}
    gateways = {n: gateways[n] for n in nets if n in gateways}
    for c in scanned.values():
        c.networks = {n: c.networks[n] for n in sorted(c.networks, key=lambda n: rank[n])}
    for c in scanned.values():
        if c.mode.startswith("container:"):
            owner = scanned[c.mode.split(":", 1)[1]]
            c.networks, c.resolver, c.upstreams = dict(owner.networks), owner.resolver, owner.upstreams
    by_docker_name = {c.docker_name: c.name for c in scanned.values()}
    for c in scanned.values():  # links name containers on the daemon; those not scanned resolve nothing measured
        c.linked_on = {(by_docker_name[t], a): on for (t, a), on in c.linked_on.items() if t in by_docker_name}
        c.links = tuple(c.linked_on)
    containers = tuple(
        Container(c.name, HOST, (), (), joins=c.mode.split(":", 1)[1], docker_name=c.docker_name)
        if c.mode.startswith("container:")
        else Container(
            c.name,
            HOST,
            tuple(Attachment(n, addr, aliases) for n, (_, addr, aliases) in c.networks.items()),
            _published(by_id[c.id]),
            docker_name=c.docker_name,
            links=c.links,
        )
        for c in scanned.values()
    )
    measurements, withheld = _measurements(scanned, nets, [p for c in containers for p in c.publish])
    dns_names = {c.name: _askable(c, scanned, nets) for c in scanned.values()}
    title = f"compose project {project}" if project else "running containers"
    topology = Topology(
        name=project or "scan",
        title=f"{title}, as they run",
        doc="Scanned by netlab: nothing was created or changed.",
        nodes=(Node(HOST),),
        lans=(),
        uplinks=(),
        peers=(),
        networks=tuple(nets.values()),
        containers=containers,
        stages=(Stage(INITIAL, "", (), (), tuple(measurements)),),
    )
    return Found(topology, scanned, gateways, withheld, dns_names)


def _network(client: Any, docker_name: str, project: str | None) -> tuple[Network, str]:
    """The network as netlab's tables show it, and when Docker created it."""
    info = client.api.inspect_network(docker_name)
    driver = SCANNED_DRIVERS.get(str(info.get("Driver")))
    label = (info.get("Labels") or {}).get(NETWORK_LABEL)
    name = str(label) if label and project and (info.get("Labels") or {}).get(PROJECT_LABEL) == project else docker_name
    if driver is None:
        raise UsageError(
            f"netlab scan: network {docker_name!r} uses the {info.get('Driver')} driver; scan measures networks on "
            "this machine's bridges only (its probes would cross a real NIC)"
        )
    subnet: IPv4Network | None = None
    gateway: IPv4Address | None = None
    for cfg in (info.get("IPAM") or {}).get("Config") or []:
        try:
            net = ip_network(str(cfg.get("Subnet", "")), strict=False)
        except ValueError:
            continue
        if isinstance(net, IPv4Network) and subnet is None:
            subnet = net
            gw = str(cfg.get("Gateway") or "").split("/")[0]
            gateway = IPv4Address(gw) if gw else net.network_address + 1
    options = dict(info.get("Options") or {})
    bridge = None
    if driver == Driver.BRIDGE:  # the Linux bridge Docker made for it (the firewall's rules name it)
        default = "docker0" if docker_name == "bridge" else f"br-{str(info.get('Id', ''))[:12]}"
        bridge = options.get("com.docker.network.bridge.name") or default
    network = Network(
        name,
        driver,
        subnet=subnet,
        gateway=gateway,
        options=options,
        internal=bool(info.get("Internal")),
        predefined=docker_name in ("bridge", "host", "none"),
        bridge_name=bridge,
    )
    return network, str(info.get("Created") or "")


def _when(created: str) -> tuple[str, str]:
    """A Docker timestamp ("2026-12-06T02:17:03.12345Z": RFC 3339, trailing zeros of the nanoseconds left out) as a
    key that sorts by time."""
    head, _, rest = created.partition(".")
    digits = "".join(ch for ch in rest[:9] if ch.isdigit())
    return head, digits.ljust(9, "0")


def _compose_default(info: dict[str, Any]) -> bool:
    """Whether the container's name is the one compose made up (project_service_N, project-service-N): compose
    does not write it in the file, so `netlab compose` does not measure it either."""
    labels = info["Config"].get("Labels") or {}
    parts = (labels.get(PROJECT_LABEL), labels.get(SERVICE_LABEL), labels.get(NUMBER_LABEL))
    if not all(parts):
        return False
    return info["Name"].lstrip("/") in ("_".join(map(str, parts)), "-".join(map(str, parts)))


def _nameserver(pid: int) -> IPv4Address | None:
    try:
        with open(f"/proc/{pid}/root/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    addr = ip_address(parts[1])
                    return addr if isinstance(addr, IPv4Address) else None
    except (OSError, ValueError):
        return None
    return None


def listening_tcp(pid: int) -> set[int]:
    """The TCP ports something listens on in the namespace of `pid`, on an address other containers can
    reach (loopback-only listeners left out), from the kernel's socket tables."""
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 4 or parts[3] != TCP_LISTEN:
                continue
            addr_hex, _, port_hex = parts[1].partition(":")
            if not _loopback(addr_hex):
                ports.add(int(port_hex, 16))
    return ports


def _loopback(addr_hex: str) -> bool:
    if len(addr_hex) == 8:  # IPv4, little-endian
        return addr_hex[6:8] == "7F"
    if addr_hex == "0" * 24 + "01000000":  # ::1
        return True
    return addr_hex[:24] == "0000000000000000FFFF0000" and addr_hex[30:32] == "7F"  # ::ffff:127.x


def _ports(info: dict[str, Any], pid: int | None) -> set[tuple[str, int]]:
    ports = {("tcp", p) for p in listening_tcp(pid)} if pid is not None else set()
    for spec in list(info["Config"].get("ExposedPorts") or {}) + list(info["HostConfig"].get("PortBindings") or {}):
        port, _, proto = str(spec).partition("/")
        if port.isdigit() and (proto or "tcp") in ("tcp", "udp"):
            ports.add((proto or "tcp", int(port)))
    return ports


def _published(info: dict[str, Any]) -> tuple[Publish, ...]:
    out: list[Publish] = []
    for spec, bindings in sorted((info["HostConfig"].get("PortBindings") or {}).items()):
        port, _, proto = str(spec).partition("/")
        for b in bindings or []:
            host = str(b.get("HostPort") or "")
            ip = str(b.get("HostIp") or "")
            on = IPv4Address(ip) if ip and ip != "0.0.0.0" and ":" not in ip else None
            if port.isdigit() and host.isdigit():
                out.append(Publish(int(host), int(port), proto or "tcp", on))
    return tuple(out)


def _names(c: Scanned) -> dict[str, set[str]]:
    """Per network, the names Docker's embedded DNS answers with this container's address there."""
    return {net: set(aliases) for net, (_, addr, aliases) in c.networks.items() if addr is not None}


def _link(text: str) -> tuple[str, str]:
    """A link as Docker stores it ("db:database", or "/db:/web/database" as the daemon writes legacy ones): the
    linked container's name and the alias."""
    name, _, alias = str(text).partition(":")
    return name.lstrip("/"), (alias.rpartition("/")[2] or name.lstrip("/"))


def _link_aliases(c: Scanned, scanned: dict[str, Scanned]) -> set[str]:
    """The aliases other containers link to c by, less those compose makes up itself (docker-compose links every
    container of a linked service by its full name and by the name without the project, `db_1`), as `netlab
    compose` does not measure them either."""
    aliases = {alias for other in scanned.values() for target, alias in other.links if target == c.name}
    return {a for a in aliases if not c.made_up or not (a == c.made_up or c.made_up.endswith(("_" + a, "-" + a)))}


def _measured_names(c: Scanned, scanned: dict[str, Scanned]) -> list[str]:
    """The names asked for: its name in the tables (whether Docker knows it or not: the cell says), every name
    Docker answers with, and the aliases others link to it by, less the one compose made up."""
    names = {c.name} | {n for names in _names(c).values() for n in names} | _link_aliases(c, scanned)
    return sorted(names - {c.made_up})


def _measurements(
    scanned: dict[str, Scanned], nets: dict[str, Network], published: list[Publish]
) -> tuple[list[Measurement], dict[tuple[str, str, str], str]]:
    out: list[Measurement] = []
    withheld: dict[tuple[str, str, str], str] = {}
    for dst in scanned.values():
        for proto, port in sorted(dst.ports):
            for source in [HOST, *scanned]:
                if source != dst.name:
                    out.append(Measurement(INITIAL, source, dst.name, Probe(ProbeKind(proto), port)))
    # the published ports as the containers reach them: at this machine's address on a network they are on
    # (from containers on one network: one on several reaches this machine at several addresses, each with its own
    # answer)
    for proto, port in sorted({(p.proto, p.host_port) for p in published}):
        for src in scanned.values():
            if src.mode not in ("host", "none") and len(_names(src)) == 1:
                out.append(Measurement(INITIAL, src.name, HOST, Probe(ProbeKind(proto), port)))
    for src in scanned.values():
        if src.mode in ("host", "none"):
            continue
        askable = _askable(src, scanned, nets)
        for dst in scanned.values():
            if dst.name == src.name or dst.mode in ("host", "none"):
                continue
            for name in _measured_names(dst, scanned):
                probe = Probe(ProbeKind.DNS, name=name)
                out.append(Measurement(INITIAL, src.name, dst.name, probe))
                key = (src.name, dst.name, str(probe))
                if src.resolver != EMBEDDED_DNS:
                    withheld[key] = (
                        f"not sent: {src.name}'s resolver {src.resolver or '(none)'} is not Docker's embedded DNS; "
                        "netlab scan never queries a resolver outside the containers"
                    )
                elif askable is not None and name not in askable:
                    withheld[key] = (
                        f"not sent: {name!r} is on no network {src.name} shares, so Docker's embedded DNS would "
                        "forward the query to the machine's resolver (give the container `dns: 127.0.0.1` to "
                        "have it measured)"
                    )
    return out, withheld


def _askable(src: Scanned, scanned: dict[str, Scanned], nets: dict[str, Network]) -> frozenset[str] | None:
    """The names `src` may ask its resolver for without the query leaving the machine: those Docker's embedded DNS
    answers itself (names on the user-defined networks it is on), any name when its own DNS servers are its
    loopback, none when its resolver is not the embedded DNS (the default bridge's copy of the host's)."""
    if src.mode in ("host", "none") or src.resolver != EMBEDDED_DNS:
        return frozenset()
    if src.upstreams and all(ip_address(s).is_loopback for s in src.upstreams):
        return None
    shared = {n for n in _names(src) if not nets[n].predefined}
    # its own links resolve where the endpoint carrying one is on a network of the linked container's (else
    # Docker forwards the name)
    linked = {alias for (target, alias), on in src.linked_on.items() if shared & on & set(_names(scanned[target]))}
    return frozenset({name for n in shared for name in _names_on(scanned, n)} | linked)


def _names_on(scanned: dict[str, Scanned], network: str) -> set[str]:
    return {name for c in scanned.values() for name in _names(c).get(network, set())}


class ScanBackend(Backend):
    """Deploys nothing: the endpoints are the running containers `find` read."""

    name = "scan"

    def __init__(self, found: Found, client: Any) -> None:
        self.found = found
        self.client = client

    def check(self, topology: Topology | None) -> None:
        require_privileges("netlab scan")

    def uses_host_routes(self) -> bool:
        return False  # nothing is routed by netlab

    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        dep = Deployment(run=run, backend=self.name, topology=topology, journal=journal, hooks=hooks)
        dep.firewall_read_only[HOST] = ROOT_NS  # the machine's rules for the scanned networks, read only
        self._endpoints(dep)
        version = self.client.version().get("Version")
        dep.facts["engine"] = f"Docker Engine {version}" if version else None
        dep.facts["docker"] = version
        dep.facts["engine_version"] = version  # what Docker's rules are predicted for (netlab/predict.py)
        # the options of the daemon that started the containers (a published port is relayed by docker-proxy or
        # hairpin-NATed): readable where that is this machine's default daemon
        if os.environ.get("DOCKER_HOST") in (None, "", "unix:///var/run/docker.sock"):
            pid = daemonconfig.pid_of_local_daemon()
            if pid is not None:
                options = daemonconfig.read(pid)
                dep.facts["daemon_options"] = options
                dep.facts["userland_proxy"] = "on" if options.get("userland-proxy") == "true" else "off"
                dep.facts["ip6tables"] = daemonconfig.ip6tables(options, version)
        return dep

    def _endpoints(self, dep: Deployment) -> None:
        t, found = dep.topology, self.found
        host_addrs = [
            Address(net, t.segment(net, HOST), gw)
            for net, gw in found.gateways.items()
            if t.network(net).driver == Driver.BRIDGE
        ]
        eps = {HOST: Endpoint(HOST, EndpointKind.HOST, HOST, ROOT_NS, host_addrs)}
        dep.resolvers.clear()
        for c in found.containers.values():
            try:
                info = self.client.api.inspect_container(c.id)
            except requests_timeout():
                raise
            except Exception:
                info = {"State": {}}
            pid = info["State"].get("Pid") if info["State"].get("Running") else None
            if c.mode == "host":
                eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, HOST, ROOT_NS, list(host_addrs))
                continue
            addrs = [Address(n, t.segment(n, HOST), a) for n, (_, a, _) in c.networks.items() if a is not None]
            eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, HOST, f"/proc/{pid}/ns/net" if pid else None, addrs)
            if c.resolver is not None:
                dep.resolvers[c.name] = c.resolver
        dep.endpoints = {name: eps[name] for name in t.endpoint_names()}

    def apply(self, dep: Deployment, stage_index: int) -> None:
        return None  # one stage: the containers as they run

    def trace_root(self, dep: Deployment) -> str | None:
        """`--why`: the machine's namespace, where Docker's rules are, is traced (a table of the run's, journalled,
        removed after); the containers' namespaces never are."""
        return ROOT_NS

    def probing(self, dep: Deployment) -> Probing:
        self._endpoints(dep)  # a container may have stopped, or been restarted with another pid
        return FromNamespaces(listeners=False, withheld=self.found.withheld, dns_names=self.found.dns_names)

    def destroy(self, dep: Deployment) -> None:
        return None  # nothing was created

    def cleanup(self, record: RunRecord) -> list[str]:
        return []


def scan(project: str | None, names: list[str], base_url: str | None = None) -> tuple[Found, ScanBackend]:
    """Read what runs; the backend that measures it as it is."""
    engines = Engines(base_url, default_daemon_timeout())
    client = engines.client()
    found = find(client, project, names)
    return found, ScanBackend(found, client)
