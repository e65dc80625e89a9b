"""What the containers Docker started look like from netlab: their namespaces (/proc/<pid>/ns/net; on
remote engines a `docker exec` shell instead), the addresses Docker gave them, the resolver each really uses,
and where packets are captured. Read again before every stage is probed: a container may have stopped,
and a pid is only good while it runs."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from netlab import nsthread
from netlab.backends import endpoints as common
from netlab.backends import naming
from netlab.backends.base import Address, CapturePoint, Deployment, Endpoint
from netlab.backends.docker import remote
from netlab.backends.docker.state import EMBEDDED_DNS, REMOTE_DNS, ROOT_NS, docker_network, state
from netlab.model.deployed import Listen
from netlab.model.topology import GWBRIDGE, Driver, EndpointKind
from netlab.waiting import wait_until


def _inspect(dep: Deployment, container: str) -> dict[str, Any]:
    st = state(dep)
    info: dict[str, Any] = st.clients[dep.topology.container(container).node].api.inspect_container(
        st.containers[container]
    )
    return info


def refresh(dep: Deployment) -> None:
    """Every endpoint as it is now (Deployment.endpoints, resolvers, dns_servers, capture_points)."""
    t, st = dep.topology, state(dep)
    eps: dict[str, Endpoint] = {}
    for n in t.nodes:
        node = n.name
        addrs = common.uplink_addresses(t, node)
        for net in t.networks_on(node):
            if net.driver != Driver.BRIDGE:
                continue
            gw, gw6 = _gateway(dep, net.name, node)
            if gw is not None:
                addrs.append(Address(net.name, t.segment(net.name, node), gw, gw6))
        if node == t.nodes[0].name:
            addrs += [common.shim_address(lan, addr) for lan, addr in st.shims]
        eps[node] = Endpoint(node, EndpointKind.HOST, node, st.node_ns.get(node), addrs)
        if node in st.hostprobes:
            st.where[node] = remote.shell(st.clients[node].api, st.hostprobes[node], shares_host=True)
    dep.resolvers.clear()
    dep.dns_servers[:] = [Listen(st.ns[naming.DNS], "dns", 53, bind=str(st.resolver))] if st.resolver else []
    for c in t.containers_at(dep.stage_index):
        info = _inspect(dep, c.name)
        running = info["State"]
        if not running.get("Running") or not running.get("Pid"):
            eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, None, [])
            continue
        if c.joins:  # Docker's `--network container:X`: X's namespace, addresses and resolver
            if st.engines:
                st.where[c.name] = remote.shell(st.clients[c.node].api, info["Id"], shares_host=False)
            eps[c.name] = common.joining(c, eps[c.joins])
            if c.joins in dep.resolvers:
                dep.resolvers[c.name] = dep.resolvers[c.joins]
            continue
        pid = int(running["Pid"])
        host_net = any(t.network(a.network).driver == Driver.HOST for a in c.attachments)
        if st.engines:  # remote: the pid is the remote host's; probes go through docker exec
            st.where[c.name] = remote.shell(st.clients[c.node].api, info["Id"], shares_host=host_net)
        if host_net:
            eps[c.name] = common.sharing_node(c, eps[c.node])
            continue
        nets = info["NetworkSettings"]["Networks"]
        addrs = []
        for a in c.attachments:
            if a.network == GWBRIDGE:
                ip = _gwbridge_address(dep, c.node, info["Id"])
                ip6 = None
            else:
                found = nets.get(docker_network(st, a.network), {})
                ip, ip6 = found.get("IPAddress"), found.get("GlobalIPv6Address")
            if ip:
                six = IPv6Address(ip6) if ip6 else None
                addrs.append(Address(a.network, t.segment(a.network, c.node), IPv4Address(ip), six))
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
        eps[p.name] = common.peer(t, p, st.ns[p.name])
    if st.resolver is not None:
        for n in t.nodes:
            dep.resolvers[n.name] = st.resolver
    dep.endpoints = {name: eps[name] for name in t.endpoint_names()}
    dep.capture_points = capture_points(dep)


#: how long a new IPv6 address may stay tentative (duplicate address detection: about a second by default)
IPV6_READY_S = 10.0


def wait_ipv6_ready(dep: Deployment) -> None:
    """Wait until no global IPv6 address of the run's namespaces is tentative. Docker gives a bridge its IPv6
    gateway with duplicate address detection on: for about a second the address cannot be used, and a probe
    then would measure the detection, not Docker's rules (containers' own addresses come without it)."""
    spaces = sorted({ep.netns for ep in dep.endpoints.values() if ep.netns is not None and ep.netns != ROOT_NS})

    def settled() -> bool:
        return not any(
            nsthread.run(netns, ["ip", "-6", "-o", "addr", "show", "tentative", "scope", "global"]).strip()
            for netns in spaces
        )

    wait_until(settled, IPV6_READY_S, "the run's IPv6 addresses to finish duplicate address detection")


def capture_points(dep: Deployment) -> list[CapturePoint]:
    """The lans, and every node's Linux bridges; none on remote engines (netlab cannot enter them).
    A bridge of a daemon netlab did not start (its docker0, a swarm's docker_gwbridge) is captured
    without promiscuous mode: its flags are not netlab's to change."""
    t, st = dep.topology, state(dep)
    if st.engines:
        return []
    points = common.lan_capture_points(t, st.ns)
    for node in t.nodes:
        for net in t.networks_on(node.name):
            if net.driver != Driver.BRIDGE:
                continue
            ours = st.private or not (net.predefined or net.external)
            ifname = st.bridges.get((node.name, net.name)) or ("docker0" if net.name == "bridge" else net.name)
            ns = st.node_ns[node.name]
            points.append(CapturePoint(f"{node.name}-{net.name}", ns, ifname, "bridge", node.name, promisc=ours))
    return points


def _gwbridge_address(dep: Deployment, node: str, cid: str) -> str | None:
    """An overlay container's hidden endpoint on docker_gwbridge (named gateway_<id>)."""
    info = state(dep).clients[node].api.inspect_network(GWBRIDGE)
    ep = (info.get("Containers") or {}).get(cid)
    return str(ep["IPv4Address"]).split("/")[0] if ep else None


def _gateway(dep: Deployment, network: str, node: str) -> tuple[IPv4Address | None, IPv6Address | None]:
    """The bridge's IPv4 gateway and, on a dual-stack network, its IPv6 one (as Docker's IPAM holds them)."""
    st = state(dep)
    info = st.clients[node].api.inspect_network(docker_network(st, network))
    found: dict[int, IPv4Address | IPv6Address] = {}
    for cfg in info.get("IPAM", {}).get("Config") or []:
        if cfg.get("Gateway"):
            gw = ip_address(cfg["Gateway"].split("/")[0])
            found.setdefault(gw.version, gw)
    v4, v6 = found.get(4), found.get(6)
    return (
        v4 if isinstance(v4, IPv4Address) else None,
        v6 if isinstance(v6, IPv6Address) else None,
    )


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
