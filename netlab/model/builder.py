"""The builder: turns what a Scenario recorded (netlab/model/declarations.py) into a frozen, validated
Topology, its addresses allocated. Called by `Scenario.build()`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from netlab.model import conditions, dockerrules
from netlab.model.addressing import (
    POOL,
    POOL6,
    HostAllocator,
    SubnetAllocator,
    docker_network_id,
    in_pool,
    in_pool6,
    subnet6_for,
)
from netlab.model.declarations import IFNAME_RE, MAX_CONTAINERS, OPTIONS, Declarations, _CtrDecl, _NetDecl
from netlab.model.errors import InvalidScenario
from netlab.model.expectations import DNS_NAME, parse_probe
from netlab.model.topology import (
    GWBRIDGE,
    INITIAL,
    Action,
    Attachment,
    Connect,
    Container,
    Disconnect,
    Driver,
    Expectation,
    Forward,
    Lan,
    Measurement,
    Network,
    Node,
    Peer,
    Probe,
    ProbeKind,
    Publish,
    Route,
    Shim,
    Stage,
    Topology,
    Uplink,
    UserRule,
)

#: the options a DOCKER-USER rule may use (Scenario.docker_user), long forms mapped to iptables' short ones
USER_RULE_OPTIONS = {
    **{o: o for o in ("-s", "-d", "-p", "--dport", "--sport", "-j")},
    "--source": "-s",
    "--destination": "-d",
    "--protocol": "-p",
    "--destination-port": "--dport",
    "--source-port": "--sport",
    "--jump": "-j",
}


def build(declarations: Declarations, subnet_offset: int = 0) -> Topology:
    """Validate and freeze. `subnet_offset`: where in the pool (in /24s) the subnets netlab picks itself
    start (see Scenario.build)."""
    return _Builder(declarations, subnet_offset).build()


class _Builder:
    """Turns the recorded declarations into a frozen, validated Topology."""

    def __init__(self, d: Declarations, subnet_offset: int = 0) -> None:
        self.d = d
        self.subnet_offset = subnet_offset
        self._lan_addresses: list[IPv4Address] = []
        self._taken6: list[IPv6Network] = []  # the IPv6 subnets of the networks and lans so far
        self._ipam: dict[str, HostAllocator] = {}
        self._shims: list[IPv4Address] = []
        self._attached: dict[str, set[str]] = {}

    def fail(self, msg: str) -> InvalidScenario:
        return InvalidScenario(msg)

    def subnet(self, what: str, text: str) -> IPv4Network:
        try:
            net = ip_network(text, strict=True)
        except ValueError as e:
            raise self.fail(f"{what}: invalid subnet {text!r} ({e})") from e
        if not isinstance(net, IPv4Network):
            raise self.fail(f"{what}: only IPv4 subnets are supported, got {text!r}")
        if not in_pool(net) and not self.d.own_subnets:
            raise self.fail(f"{what}: subnet {net} is outside netlab's pool {POOL}; use a subnet inside it")
        return net

    def subnet6(self, what: str, declared: str | None, subnet: IPv4Network) -> IPv6Network:
        """A dual-stack network's or lan's IPv6 subnet: as declared (inside POOL6, room for every IPv4 host part),
        else the pool's /64 that goes with its IPv4 subnet."""
        taken = self._taken6
        if declared is None:
            net6 = subnet6_for(subnet)
        else:
            try:
                parsed = ip_network(declared, strict=True)
            except ValueError as e:
                raise self.fail(f"{what}: invalid subnet6 {declared!r} ({e})") from e
            if not isinstance(parsed, IPv6Network):
                raise self.fail(f"{what}: subnet6 must be an IPv6 subnet, got {declared!r}")
            net6 = parsed
            if not in_pool6(net6) and not self.d.own_subnets:
                raise self.fail(f"{what}: subnet6 {net6} is outside netlab's IPv6 pool {POOL6}; use a subnet inside it")
            if 128 - net6.prefixlen < 32 - subnet.prefixlen:
                raise self.fail(
                    f"{what}: subnet6 {net6} is smaller than its IPv4 subnet {subnet}; every endpoint's IPv6 address "
                    f"has its IPv4 host part: give it a /{128 - (32 - subnet.prefixlen)} or larger"
                )
        clash = next((t for t in taken if t.overlaps(net6)), None)
        if clash is not None:
            raise self.fail(f"{what}: subnet6 {net6} overlaps {clash} of another network or lan; give each its own")
        taken.append(net6)
        return net6

    def network_subnet6(
        self, what: str, nd: _NetDecl, driver: Driver, subnet: IPv4Network, lan: Lan | None, dummy: str | None
    ) -> IPv6Network | None:
        """A dual-stack network's IPv6 subnet: a bridge's of its own; a macvlan/ipvlan network's, on its parent
        lan's subnet, the lan's IPv6 subnet (the lan must be dual-stack: the children share its wire, and an ipvlan
        L3 network's IPv6 is routed out of it); a parentless one's of its own, on Docker's dummy link."""
        if not nd.ipv6:
            return None
        if driver in (Driver.MACVLAN, Driver.IPVLAN) and dummy is None:
            assert lan is not None
            if lan.subnet6 is None:
                raise self.fail(
                    f"{what}: ipv6 on a {driver} network needs its parent lan {lan.name!r} dual-stack too: "
                    f"s.lan({lan.name!r}, ipv6=True)"
                )
            if subnet == lan.subnet and nd.subnet6 in (None, str(lan.subnet6)):
                return lan.subnet6  # the children live on their lan's subnets, both families
        elif driver == Driver.OVERLAY:
            # measured on a swarm of Docker 20.10.24 daemons: `--ipv6` overlays ignore --ip6, each node hands out
            # IPv6 addresses of its own (containers on two nodes got the same one) and no IPv6 crosses VXLAN
            raise self.fail(
                f"{what}: ipv6 on an overlay network is not supported yet: Docker's swarm does not support it (20.10 "
                "gives overlay containers IPv6 addresses per node, duplicates across nodes, and carries no IPv6 "
                "between nodes; 27 drops the IPv6 subnet; 29.4 cannot allocate it: docs/drivers.md), and netlab "
                "does not emulate that; drop ipv6 there"
            )
        elif driver not in (Driver.BRIDGE, Driver.MACVLAN, Driver.IPVLAN):
            raise self.fail(
                f"{what}: ipv6 on a {driver} network is not supported yet (bridge, macvlan and ipvlan networks); "
                "drop ipv6 there"
            )
        return self.subnet6(what, nd.subnet6, subnet)

    def address(self, what: str, text: str, subnet: IPv4Network | None = None) -> IPv4Address:
        try:
            addr = ip_address(text)
        except ValueError as e:
            raise self.fail(f"{what}: invalid address {text!r}") from e
        if not isinstance(addr, IPv4Address):
            raise self.fail(f"{what}: only IPv4 addresses are supported, got {text!r}")
        if subnet is not None and (addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address)):
            raise self.fail(f"{what}: address {addr} is not a host address of its subnet {subnet}")
        return addr

    def build(self) -> Topology:
        d = self.d
        text = d.daemon.get("ip")
        #: dockerd --ip: the host address a publish that names none binds (0.0.0.0: every address, Docker's default)
        self.daemon_ip = self.address("daemon(ip=...)", text) if text else None
        if self.daemon_ip == IPv4Address("0.0.0.0"):
            self.daemon_ip = None
        if len(d.containers) > MAX_CONTAINERS:
            raise self.fail(f"scenario {d.name!r}: {len(d.containers)} containers (at most {MAX_CONTAINERS})")
        explicit: list[tuple[str, IPv4Network]] = []
        lans: list[Lan] = []
        for name, text in d.lans.items():
            if text:
                net = self.subnet(f"lan {name!r}", text)
                explicit.append((f"lan {name!r}", net))
        decl_subnets: dict[str, IPv4Network] = {}
        for nd in d.networks.values():
            if nd.subnet:
                decl_subnets[nd.name] = self.subnet(f"network {nd.name!r}", nd.subnet)
            for i, extra in enumerate(nd.more_subnets):
                decl_subnets[f"{nd.name}#{i + 1}"] = self.subnet(f"network {nd.name!r}", extra)
        self.check_overlaps(explicit, decl_subnets)
        alloc = SubnetAllocator([n for _, n in explicit] + list(decl_subnets.values()), offset=self.subnet_offset)
        for name, text in d.lans.items():
            trunk, vid = d.vlans.get(name, (None, None))
            if trunk is not None and (trunk not in d.lans or trunk in d.vlans):
                raise self.fail(f"vlan {name!r}: its trunk {trunk!r} is not a lan of this scenario")
            subnet = self.subnet(f"lan {name!r}", text) if text else alloc.allocate()
            subnet6 = self.subnet6(f"lan {name!r}", d.lans6[name], subnet) if name in d.lans6 else None
            lans.append(Lan(name, subnet, trunk, vid, subnet6))
        lan_by = {lan.name: lan for lan in lans}

        # nodes' uplinks and peers take lan addresses from the top of the lan subnet
        lan_hosts = {lan.name: HostAllocator(lan.subnet) for lan in lans}
        legs: dict[str, list[tuple[str, IPv4Address]]] = {}  # router -> (lan, address) of every leg
        for rname, more in d.routers.items():
            legs[rname] = []
            for lname in [d.peers[rname][0], *more]:
                if lname not in lan_by:
                    raise self.fail(f"router {rname!r}: unknown lan {lname!r}")
                first = next(lan_by[lname].subnet.hosts())
                if lan_hosts[lname].is_used(first):
                    raise self.fail(f"router {rname!r}: {first}, the first address of {lname!r}, is already taken")
                lan_hosts[lname].reserve(first)
                legs[rname].append((lname, first))
        for pname, (lname, addr) in d.peers.items():
            if lname not in lan_by:
                raise self.fail(f"peer {pname!r}: unknown lan {lname!r}")
            if addr:
                a = self.address(f"peer {pname!r}", addr, lan_by[lname].subnet)
                if lan_hosts[lname].is_used(a):
                    raise self.fail(f"peer {pname!r}: address {a} is already taken on lan {lname!r}")
                lan_hosts[lname].reserve(a)
        uplinks: list[Uplink] = []
        for node in d.nodes:  # one per wire: a VLAN rides on its trunk's uplink (as eth<i>.<vid>, made on demand)
            for i, lan in enumerate(x for x in lans if x.trunk is None):
                uplinks.append(Uplink(node, lan.name, lan_hosts[lan.name].next_from_top(), f"eth{i}"))
        peers: list[Peer] = []
        for pname, (lname, addr) in d.peers.items():
            if pname in legs:
                peers.append(Peer(pname, lname, legs[pname][0][1], tuple(legs[pname][1:])))
                continue
            a = (
                self.address(f"peer {pname!r}", addr, lan_by[lname].subnet)
                if addr
                else lan_hosts[lname].next_from_top()
            )
            peers.append(Peer(pname, lname, a))

        self._lan_addresses = [u.address for u in uplinks] + [a for p in peers for _, a in p.addresses]
        networks = self.networks(alloc, decl_subnets, lan_by)
        net_by = {n.name: n for n in networks}
        containers = self.containers(net_by)
        stages = self.stages(net_by, containers, lan_by, peers, uplinks)
        warnings = tuple(
            f"container {c.name!r}: published ports are discarded when using host network mode"
            for c in containers
            if c.publish and any(net_by[a.network].driver == Driver.HOST for a in c.attachments)
        )
        return Topology(
            name=d.name,
            title=d.title,
            doc=d.doc,
            nodes=tuple(Node(n) for n in d.nodes),
            lans=tuple(lans),
            uplinks=tuple(uplinks),
            peers=tuple(peers),
            networks=tuple(networks),
            containers=tuple(containers),
            stages=stages,
            warnings=warnings,
            claims=tuple(d.claims),
            subnet_offset=self.subnet_offset,
            own_subnets=d.own_subnets,
            daemon=tuple(sorted(d.daemon.items())),
        )

    def check_overlaps(self, lans: list[tuple[str, IPv4Network]], nets: dict[str, IPv4Network]) -> None:
        items = lans + [(f"network {k.split('#')[0]!r}", v) for k, v in nets.items()]
        for i, (wa, a) in enumerate(items):
            for wb, b in items[i + 1 :]:
                if not a.overlaps(b):
                    continue
                if self.may_share(wa, wb, a, b):
                    continue
                raise self.fail(f"{wb}: subnet {b} overlaps {wa} ({a}); give each a subnet of its own")

    def may_share(self, wa: str, wb: str, a: IPv4Network, b: IPv4Network) -> bool:
        """macvlan/ipvlan networks live on their parent lan's subnet, as they do in real deployments."""
        for w, other in ((wa, wb), (wb, wa)):
            if w.startswith("network "):
                nd = self.d.networks[w.split("'")[1].split("#")[0]]
                if nd.driver in (Driver.MACVLAN, Driver.IPVLAN) and other == f"lan {nd.parent!r}":
                    return True
        return False

    def networks(
        self,
        alloc: SubnetAllocator,
        decl_subnets: dict[str, IPv4Network],
        lan_by: dict[str, Lan],
    ) -> list[Network]:
        d = self.d
        default = alloc.allocate()
        # dockerd --icc=false closes its default bridge only (docker0 gets enable_icc=false; user networks keep theirs)
        icc = {"com.docker.network.bridge.enable_icc": "false"} if d.daemon.get("icc") == "false" else {}
        out = [
            Network(
                "bridge",
                Driver.BRIDGE,
                default,
                next(default.hosts()),
                options=icc,
                predefined=True,
                bridge_name="docker0",
            ),
            Network("host", Driver.HOST, predefined=True),
            Network("none", Driver.NONE, predefined=True),
        ]
        for nd in d.networks.values():
            what = f"network {nd.name!r}"
            driver = Driver(nd.driver)
            if nd.external is not None:
                out.append(self.external(nd, driver))
                continue
            if driver in (Driver.HOST, Driver.NONE):
                raise self.fail(f"{what}: only one {driver} network exists; use the predefined {str(driver)!r}")
            parent = nd.parent
            dummy = None
            if driver in (Driver.MACVLAN, Driver.IPVLAN) and parent is None:
                # Docker makes a dummy link its parent: dm-<id> (macvlan), di-<id> (ipvlan); nothing else is on it
                dummy = ("dm-" if driver == Driver.MACVLAN else "di-") + docker_network_id(d.name, nd.name)[:12]
            elif driver in (Driver.MACVLAN, Driver.IPVLAN):
                if parent not in lan_by:
                    raise self.fail(
                        f"{what}: parent {parent!r} is not a lan of this scenario; parents are lans (a real NIC "
                        "is used only when named on the command line: --backend docker --parent IFACE)"
                    )
            elif parent is not None:
                raise self.fail(f"{what}: parent= only applies to macvlan and ipvlan networks")
            subnet = decl_subnets.get(nd.name)
            if subnet is None and parent is not None:
                subnet = lan_by[parent].subnet  # netlab's convenience: children live on their lan's subnet
            if subnet is None:
                subnet = alloc.allocate()
            gateway = self.address(f"{what} gateway", nd.gateway, subnet) if nd.gateway else None
            if gateway is None:
                gateway = next(subnet.hosts())
            self.check_options(what, driver, nd.options)
            subnet6 = self.network_subnet6(what, nd, driver, subnet, lan_by.get(parent or ""), dummy)
            more = tuple(decl_subnets[f"{nd.name}#{i + 1}"] for i in range(len(nd.more_subnets)))
            if subnet6 is not None and more and 128 - subnet6.prefixlen < 32 + len(more).bit_length():
                raise self.fail(
                    f"{what}: subnet6 {subnet6} cannot mirror {len(more) + 1} IPv4 subnets (each takes 32 bits of "
                    "it, Network.v6_of): give it a /64"
                )
            bridge_name = None
            if driver == Driver.BRIDGE:
                bridge_name = nd.options.get(
                    "com.docker.network.bridge.name", "br-" + docker_network_id(d.name, nd.name)[:12]
                )
            out.append(
                Network(
                    nd.name,
                    driver,
                    subnet,
                    gateway,
                    parent,
                    dict(nd.options),
                    nd.internal,
                    bridge_name=bridge_name,
                    more_subnets=more,
                    dummy=dummy,
                    subnet6=subnet6,
                )
            )
        if any(n.driver == Driver.OVERLAY for n in out):
            if not lan_by:
                raise self.fail("overlay networks need an underlay: declare a lan that connects the nodes")
            gw_subnet = alloc.allocate()
            out.append(
                Network(
                    GWBRIDGE,
                    Driver.BRIDGE,
                    gw_subnet,
                    next(gw_subnet.hosts()),
                    options={
                        "com.docker.network.bridge.enable_icc": "false",
                        "com.docker.network.bridge.enable_ip_masquerade": "true",
                    },
                    predefined=True,
                    bridge_name=GWBRIDGE,
                )
            )
        return out

    def check_options(self, what: str, driver: Driver, options: dict[str, str]) -> None:
        for key in options:
            if key not in OPTIONS:
                raise self.fail(f"{what}: option {key!r} is not supported; netlab knows {', '.join(OPTIONS)}")
            if driver not in OPTIONS[key]:
                raise self.fail(f"{what}: option {key} applies to {OPTIONS[key][0]} networks, not {driver}")
        name = options.get("com.docker.network.bridge.name")
        if name is not None and (not IFNAME_RE.match(name) or name in ("docker0", GWBRIDGE)):
            raise self.fail(
                f"{what}: bridge name {name!r} must be an interface name of 1-15 letters, digits, '_', '.', '-' "
                "and not one of Docker's own bridges"
            )
        mtu = options.get("com.docker.network.driver.mtu")
        if mtu is not None and not (str(mtu).isdigit() and 68 <= int(mtu) <= 65535):
            raise self.fail(f"{what}: com.docker.network.driver.mtu {mtu!r} is not an MTU (68-65535)")
        binding = options.get("com.docker.network.bridge.host_binding_ipv4")
        if binding is not None:
            self.address(f"{what}: com.docker.network.bridge.host_binding_ipv4", str(binding))
        bools = ("com.docker.network.bridge.enable_icc", "com.docker.network.bridge.enable_ip_masquerade")
        for key in bools:
            if key in options and options[key] not in ("true", "false"):
                raise self.fail(f"{what}: option {key} must be true or false, got {options[key]!r}")
        modes = {"macvlan_mode": ("bridge", "private", "vepa", "passthru"), "ipvlan_mode": ("l2", "l3", "l3s")}
        for key, valid in modes.items():
            if key in options and options[key] not in valid:
                raise self.fail(f"{what}: {key} {options[key]!r} is not one of {', '.join(valid)}")

    def containers(self, net_by: dict[str, Network]) -> list[Container]:
        d = self.d
        ipam: dict[str, HostAllocator] = {}
        for n in net_by.values():
            if n.subnet is not None:
                taken = [n.gateway] if n.gateway else []
                taken += [a for a in self._lan_addresses if a in n.subnet]
                ipam[n.name] = HostAllocator(n.subnet, taken)
        # explicit addresses first, so automatic ones never take them
        for cd in d.containers.values():
            if cd.ip and cd.networks and cd.networks[0] in ipam:
                first = net_by[cd.networks[0]]
                assert first.subnet is not None
                addr = self.address(f"container {cd.name!r}", cd.ip)
                home = first.subnet_for(addr)
                if home is None:
                    subnets = ", ".join(str(x) for x in first.subnets)
                    raise self.fail(f"container {cd.name!r}: address {addr} is not in {first.name!r} ({subnets})")
                self.address(f"container {cd.name!r}", cd.ip, home)
                if ipam[first.name].is_used(addr):
                    raise self.fail(f"container {cd.name!r}: address {addr} is already taken on {first.name!r}")
                ipam[first.name].reserve(addr)
            for nname, text in cd.more_ips.items():
                what = f"container {cd.name!r}: ip on {nname!r}"
                if nname not in cd.networks:
                    raise self.fail(f"{what}: the container is not attached to that network")
                net = net_by[nname]
                if nname not in ipam or not net.user_defined:
                    raise self.fail(f"{what}: fixed addresses need a user-defined network with a subnet")
                addr = self.address(what, text)
                home = net.subnet_for(addr)
                if home is None:
                    raise self.fail(f"{what}: {addr} is not in {', '.join(map(str, net.subnets))}")
                self.address(what, text, home)
                if ipam[nname].is_used(addr):
                    raise self.fail(f"{what}: address {addr} is already taken on {nname!r}")
                ipam[nname].reserve(addr)
        self._reserve_mirrors(net_by, ipam)
        self._ipam = ipam
        out: list[Container] = []
        #: (node, proto, host port) -> who publishes it, on which host address (None: every address)
        bound: dict[tuple[str, str, int], list[tuple[str, IPv4Address | None]]] = {}
        for cd in d.containers.values():
            what = f"container {cd.name!r}"
            if cd.node not in d.nodes:
                raise self.fail(f"{what}: unknown node {cd.node!r}")
            if cd.joins is not None:
                out.append(self.joining(cd, out))
                self._attached[cd.name] = set()
                continue
            atts: list[Attachment] = []
            for i, nname in enumerate(cd.networks):
                if nname not in net_by:
                    raise self.fail(f"{what}: unknown network {nname!r}")
                if nname in (a.network for a in atts):
                    raise self.fail(f"{what}: attached to {nname!r} twice")
                names = tuple(cd.aliases.get(nname, ()))
                for alias in names:
                    if not DNS_NAME.match(alias):
                        raise self.fail(f"{what}: alias {alias!r} on {nname!r} is not a DNS name")
                if names and not net_by[nname].user_defined:
                    raise self.fail(f"{what}: aliases need a user-defined network; {nname!r} has no embedded DNS")
                atts.append(Attachment(nname, self.assign(cd, nname, i == 0, net_by), names))
            atts = self.fixed6(cd, atts, net_by)
            unknown = set(cd.aliases) - set(cd.networks)
            if unknown:
                raise self.fail(f"{what}: aliases on {sorted(unknown)[0]!r}, a network it is not attached to")
            drivers = {net_by[a.network].driver for a in atts}
            if len(atts) > 1 and drivers & {Driver.HOST, Driver.NONE}:
                raise self.fail(f"{what}: the host and none networks cannot be combined with other networks")
            if cd.ip and not net_by[cd.networks[0]].has_addresses:
                raise self.fail(f"{what}: ip= given but network {cd.networks[0]!r} has no addresses")
            only_overlay = atts and all(net_by[a.network].driver == Driver.OVERLAY for a in atts)
            if only_overlay and not net_by[atts[0].network].internal:
                # overlay sets no gateway: Docker gives the container an endpoint on docker_gwbridge
                atts.append(Attachment(GWBRIDGE, ipam[GWBRIDGE].next()))
            publish = []
            default_ip = self.default_binding(net_by, atts)
            for key, target in cd.publish.items():
                host_ip, hp = self.host_binding(what, key)
                if host_ip is None and not (isinstance(key, str) and ":" in key):
                    host_ip = default_ip
                cp, proto = _port_and_proto(target)
                ports = []
                for port in (hp, cp):
                    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                        raise self.fail(f"{what}: publish port {port!r} is not a port number")
                    ports.append(port)
                if proto not in ("tcp", "udp"):
                    raise self.fail(f"{what}: publish {target!r}: the protocol is tcp or udp ('53/udp')")
                holders = bound.setdefault((cd.node, proto, ports[0]), [])
                # one address, or every address, holds a port once: 127.0.0.1:8080 and 127.0.0.2:8080 may coexist
                holder = next((h for h, ip in holders if None in (ip, host_ip) or ip == host_ip), None)
                if holder is not None:
                    raise self.fail(
                        f"{what}: host port {ports[0]}/{proto} of node {cd.node!r} is already published by "
                        f"{holder!r} (Docker: port is already allocated); publish another host port"
                    )
                holders.append((cd.name, host_ip))
                publish.append(Publish(ports[0], ports[1], proto, host_ip))
            links = self.links(cd, out, net_by, atts)
            sysctls = self.sysctls(cd, net_by, atts)
            out.append(
                Container(
                    cd.name,
                    cd.node,
                    tuple(atts),
                    tuple(publish),
                    links=links,
                    sysctls=sysctls,
                    listen=self.listen(cd),
                )
            )
            self._attached[cd.name] = {a.network for a in atts}
        self.distinct6(out, net_by)
        for n in net_by.values():
            if n.driver == Driver.MACVLAN and n.option("macvlan_mode", "bridge") == "passthru":
                for node in d.nodes:
                    on = [c.name for c in out if c.node == node and n.name in (a.network for a in c.attachments)]
                    if len(on) > 1:
                        raise self.fail(
                            f"network {n.name!r}: macvlan passthru takes over the parent, so only one container "
                            f"per node can use it ({', '.join(on)} on {node!r})"
                        )
        return out

    def _reserve_mirrors(self, net_by: dict[str, Network], ipam: dict[str, HostAllocator]) -> None:
        """A fixed IPv6 address (`ip6=`) is also the one that goes with some IPv4 address of its network: that IPv4
        address is never handed out (a container connected later would get the fixed IPv6 address too)."""
        for cd in self.d.containers.values():
            for nname, text in cd.ip6.items():
                net = net_by.get(nname)
                if net is None or net.subnet6 is None or nname not in ipam:
                    continue  # fixed6 says what is wrong with it
                try:
                    six = ip_address(text)
                except ValueError:
                    continue
                offset = int(six) - int(net.subnet6.network_address)
                for index, subnet in enumerate(net.subnets):
                    host = offset - (index << 32)
                    if 0 < host < subnet.num_addresses - 1:
                        mirror = subnet.network_address + host
                        if not ipam[nname].is_used(mirror):
                            ipam[nname].reserve(mirror)

    def fixed6(self, cd: _CtrDecl, atts: list[Attachment], net_by: dict[str, Network]) -> list[Attachment]:
        """The attachments with the IPv6 addresses the container was given (`ip6=`), each checked: a network it
        joins, dual-stack and created by the scenario, a host address of its IPv6 subnet other than the gateway."""
        out = list(atts)
        for nname, text in cd.ip6.items():
            what = f"container {cd.name!r}: ip6 on {nname!r}"
            at = next((i for i, a in enumerate(out) if a.network == nname), None)
            if at is None:
                raise self.fail(f"{what}: the container is not attached to that network")
            net = net_by[nname]
            if net.subnet6 is None or net.external:
                raise self.fail(f"{what}: fixed IPv6 addresses need a dual-stack network (ipv6=True) of the scenario")
            try:
                addr = ip_address(text)
            except ValueError as e:
                raise self.fail(f"{what}: invalid address {text!r}") from e
            if not isinstance(addr, IPv6Address):
                raise self.fail(f"{what}: {text!r} is not an IPv6 address (ip= takes the IPv4 one)")
            if addr not in net.subnet6 or addr == net.subnet6.network_address:
                raise self.fail(f"{what}: {addr} is not a host address of {nname!r}'s IPv6 subnet {net.subnet6}")
            if addr == net.gateway6:
                raise self.fail(f"{what}: {addr} is the network's IPv6 gateway")
            out[at] = replace(out[at], address6=addr)
        return out

    def distinct6(self, containers: list[Container], net_by: dict[str, Network]) -> None:
        """No two endpoints of a dual-stack network share an IPv6 address (a fixed one against the others' and
        against those that go with the IPv4 addresses of the lan's systems, for macvlan/ipvlan)."""
        for net in net_by.values():
            if net.subnet6 is None:
                continue
            holders: dict[IPv6Address, str] = {}
            for a in self._lan_addresses:
                six = net.v6_of(a) if net.subnet_for(a) is not None else None
                if six is not None:
                    holders[six] = f"the lan system at {a}"
            if net.gateway6 is not None:
                holders[net.gateway6] = "the gateway"
            for c in containers:
                for att in c.attachments:
                    six = net.v6_for(att) if att.network == net.name else None
                    if six is None:
                        continue
                    if six in holders:
                        raise self.fail(
                            f"container {c.name!r}: IPv6 address {six} on {net.name!r} is taken already, by "
                            f"{holders[six]}"
                        )
                    holders[six] = f"container {c.name!r}"

    def assign(self, cd: _CtrDecl, nname: str, first: bool, net_by: dict[str, Network]) -> IPv4Address | None:
        if not net_by[nname].has_addresses or net_by[nname].external:
            if net_by[nname].external and ((first and cd.ip) or nname in cd.more_ips):
                raise self.fail(f"container {cd.name!r}: on external network {nname!r} the addresses are Docker's")
            return None
        if first and cd.ip:
            return ip_address(cd.ip)  # type: ignore[return-value]  # validated above
        if not first and nname in cd.more_ips:
            return ip_address(cd.more_ips[nname])  # type: ignore[return-value]  # validated above
        return self._ipam[nname].next()

    def stages(
        self,
        net_by: dict[str, Network],
        containers: list[Container],
        lan_by: dict[str, Lan],
        peers: list[Peer],
        uplinks: list[Uplink],
    ) -> tuple[Stage, ...]:
        d = self.d
        endpoints = {*d.nodes, *d.containers, *d.peers}
        ctr_nodes = {c.name: c.node for c in containers}
        exps: dict[str, list[Expectation]] = {INITIAL: []}
        for st in d.stages:
            exps[st.name] = []
        for e in d.expectations:
            what = f"expectation {e.src} -> {e.dst} ({e.probe})"
            for end in (e.src, e.dst):
                if end not in endpoints:
                    raise self.fail(f"{what}: unknown endpoint {end!r}; known are {', '.join(sorted(endpoints))}")
            try:
                probe = parse_probe(e.probe)
            except ValueError as err:
                raise self.fail(f"{what}: {err}") from err
            addr = self.address(what, e.address) if e.address else None
            try:
                when = conditions.parse(e.when, what)
            except ValueError as err:
                raise self.fail(str(err)) from err
            exps[e.stage].append(Expectation(e.stage, e.src, e.dst, probe, e.reachable, e.claim, addr, when))
        measured: dict[str, list[Measurement]] = {name: [] for name in exps}
        for m in d.measurements:
            what = f"measurement {m.src} -> {m.dst} ({m.probe})"
            for end in (m.src, m.dst):
                if end not in endpoints:
                    raise self.fail(f"{what}: unknown endpoint {end!r}; known are {', '.join(sorted(endpoints))}")
            try:
                probe = parse_probe(m.probe)
            except ValueError as err:
                raise self.fail(f"{what}: {err}") from err
            addr = self.address(what, m.address) if m.address else None
            measured[m.stage].append(Measurement(m.stage, m.src, m.dst, probe, addr))
        first = tuple(
            self.action(INITIAL, kind, args, net_by, lan_by, peers, uplinks, ctr_nodes)
            for kind, args in d.initial_actions
        )
        out = [Stage(INITIAL, "", first, tuple(exps[INITIAL]), tuple(measured[INITIAL]))]
        for st in d.stages:
            actions = tuple(
                self.action(st.name, kind, args, net_by, lan_by, peers, uplinks, ctr_nodes) for kind, args in st.actions
            )
            out.append(Stage(st.name, st.doc, actions, tuple(exps[st.name]), tuple(measured[st.name])))
        return tuple(out)

    def action(
        self,
        stage: str,
        kind: str,
        args: tuple[str, ...],
        net_by: dict[str, Network],
        lan_by: dict[str, Lan],
        peers: list[Peer],
        uplinks: list[Uplink],
        ctr_nodes: dict[str, str],
    ) -> Action:
        d = self.d
        what = f"stage {stage!r}: {kind}({', '.join(args)})"
        if kind == "docker_user":
            return self.user_rule(what, args[0], args[1], net_by, lan_by)
        if kind == "forward":
            if args[0] not in d.routers:
                raise self.fail(f"{what}: {args[0]!r} is not a router (Scenario.router)")
            return Forward(args[0])
        if kind == "route":
            target, dst, via = args
            if target not in {*d.nodes, *d.containers, *d.peers}:
                raise self.fail(f"{what}: unknown endpoint {target!r}")
            if dst in net_by:
                sub = net_by[dst].subnet
                if sub is None:
                    raise self.fail(f"{what}: network {dst!r} has no subnet")
            elif dst in lan_by:
                sub = lan_by[dst].subnet
            else:
                try:
                    sub = IPv4Network(dst, strict=True)
                except ValueError as err:
                    raise self.fail(f"{what}: {dst!r} is neither a network, a lan nor a subnet") from err
            via_addr = self.via_address(what, target, via, peers, uplinks)
            sub6 = net_by[dst].subnet6 if dst in net_by else lan_by[dst].subnet6 if dst in lan_by else None
            over = next((lan for lan in lan_by.values() if via_addr in lan.subnet), None)
            via6 = over.v6_of(via_addr) if over is not None and sub6 is not None else None
            return Route(target, sub, via_addr, sub6 if via6 else None, via6)
        if kind == "shim":
            node, lan = args
            if node not in d.nodes:
                raise self.fail(f"{what}: unknown node {node!r}")
            if lan not in lan_by:
                raise self.fail(f"{what}: unknown lan {lan!r}")
            if lan_by[lan].trunk is not None:
                raise self.fail(f"{what}: a shim on a VLAN is not supported yet (give the host one on a lan)")
            return Shim(node, lan, self.shim_address(lan_by[lan], peers, uplinks))
        container, network = args[0], args[1]
        if container not in d.containers:
            raise self.fail(f"{what}: unknown container {container!r}")
        if d.containers[container].joins:
            raise self.fail(
                f"{what}: container {container!r} shares the network namespace of {d.containers[container].joins!r}; "
                "Docker cannot connect or disconnect it (connect that one instead)"
            )
        if network not in net_by:
            raise self.fail(f"{what}: unknown network {network!r}")
        attached = self._attached[container]
        if kind == "connect":
            if network in attached:
                raise self.fail(f"{what}: container {container!r} is already on network {network!r}")
            drivers = {net_by[x].driver for x in attached | {network}}
            if attached and drivers & {Driver.HOST, Driver.NONE}:
                raise self.fail(
                    f"{what}: container {container!r}: the host and none networks cannot be combined "
                    "with other networks"
                )
            ip = args[2]
            n = net_by[network]
            addr = None
            if n.external and ip:
                raise self.fail(f"{what}: on external network {network!r} the addresses are Docker's")
            if n.has_addresses and not n.external:
                assert n.subnet is not None
                if ip:
                    addr = self.address(what, ip, n.subnet)
                    if self._ipam[network].is_used(addr):
                        raise self.fail(f"{what}: address {addr} is already taken on {network!r}")
                    self._ipam[network].reserve(addr)
                else:
                    addr = self._ipam[network].next()
            attached.add(network)
            return Connect(container, network, addr)
        if network not in attached:
            raise self.fail(f"{what}: container {container!r} is not on network {network!r}")
        attached.discard(network)
        return Disconnect(container, network)

    def user_rule(
        self, what: str, node: str, text: str, net_by: dict[str, Network], lan_by: dict[str, Lan]
    ) -> UserRule:
        """A DOCKER-USER rule, checked: only the matches netlab knows, every address inside the scenario's subnets
        (a rule of a run must never touch traffic that is not the run's), `{name}` replaced by that subnet."""
        if node not in self.d.nodes:
            raise self.fail(f"{what}: unknown node {node!r}")
        ours = [n.subnet for n in net_by.values() if n.subnet is not None] + [x.subnet for x in lan_by.values()]

        def subnet(token: str) -> str:
            if token.startswith("{") and token.endswith("}"):
                name = token[1:-1]
                found = net_by[name].subnet if name in net_by else lan_by[name].subnet if name in lan_by else None
                if found is None:
                    raise self.fail(f"{what}: {token}: no network or lan of that name has a subnet")
                return str(found)
            try:
                net = IPv4Network(token, strict=False)
            except ValueError as err:
                raise self.fail(f"{what}: {token!r} is not an address or subnet") from err
            if not any(net.subnet_of(o) for o in ours):
                raise self.fail(
                    f"{what}: {net} is outside the scenario's subnets; a DOCKER-USER rule of a run may only match "
                    "the run's own traffic"
                )
            return str(net)

        tokens = text.split()
        pairs: dict[str, list[str]] = {}  # canonical option -> its words ("!" included)
        i = 0
        while i < len(tokens):
            negate = tokens[i] == "!"
            opt = tokens[i + 1] if negate and i + 1 < len(tokens) else tokens[i]
            value = tokens[i + 2] if negate and i + 2 < len(tokens) else tokens[i + 1] if i + 1 < len(tokens) else None
            i += 3 if negate else 2
            if opt == "-m" and value in ("tcp", "udp"):
                continue  # iptables' own match for the ports; netlab adds it where the ports need it
            key = USER_RULE_OPTIONS.get(opt)
            if key is None or value is None or (negate and key not in ("-s", "-d")):
                raise self.fail(
                    f"{what}: {opt!r} is not a match netlab knows; use -s, -d, -p tcp|udp|icmp, --dport, --sport "
                    "and -j ACCEPT|DROP|REJECT|RETURN"
                )
            if key in pairs:
                raise self.fail(f"{what}: {opt} given twice")
            if key in ("-s", "-d"):
                value = subnet(value)
            elif key == "-p" and value not in ("tcp", "udp", "icmp"):
                raise self.fail(f"{what}: -p {value}: use tcp, udp or icmp")
            elif key in ("--dport", "--sport") and not (value.isdigit() and 0 < int(value) < 65536):
                raise self.fail(f"{what}: {opt} {value}: a port is 1-65535")
            elif key == "-j" and value not in ("ACCEPT", "DROP", "REJECT", "RETURN"):
                raise self.fail(f"{what}: -j {value}: use ACCEPT, DROP, REJECT or RETURN")
            pairs[key] = (["!"] if negate else []) + [key, value]
        if "-j" not in pairs:
            raise self.fail(f"{what}: the rule needs a target (-j DROP, -j ACCEPT...)")
        if not any(k in pairs and pairs[k][0] != "!" for k in ("-s", "-d")):
            raise self.fail(
                f"{what}: give -s or -d (not negated, inside the scenario's subnets): the rule must match only the run"
            )
        proto = pairs.get("-p", ["", ""])[-1]
        if ("--dport" in pairs or "--sport" in pairs) and proto not in ("tcp", "udp"):
            raise self.fail(f"{what}: --dport and --sport need -p tcp or -p udp")
        # in iptables' own order (as `iptables -S` prints it): addresses, protocol, its match and ports, target
        words: list[str] = []
        for k in ("-s", "-d", "-p", "--sport", "--dport", "-j"):
            if k == "--sport" and ("--sport" in pairs or "--dport" in pairs):
                words += ["-m", proto]
            words += pairs.get(k, [])
        return UserRule(node, " ".join(words))

    def default_binding(self, net_by: dict[str, Network], atts: list[Attachment]) -> IPv4Address | None:
        """The host address a publish naming none binds: the host_binding_ipv4 option of the network Docker
        programs the ports on (the gateway endpoint's), else dockerd's --ip; None: every address."""
        gateway = dockerrules.gateway_of(_Networks(net_by), atts)
        text = net_by[gateway.network].options.get("com.docker.network.bridge.host_binding_ipv4") if gateway else None
        if text is None:
            return self.daemon_ip
        addr = ip_address(str(text))
        return None if addr == IPv4Address("0.0.0.0") else addr  # type: ignore[return-value]  # validated

    def host_binding(self, what: str, key: object) -> tuple[IPv4Address | None, object]:
        """A publish key: a host port (8080) or "ADDRESS:PORT" ("127.0.0.1:8080"); 0.0.0.0 is every address."""
        if not isinstance(key, str) or ":" not in key:
            return None, key
        text, _, port = key.rpartition(":")
        addr = self.address(f"{what}: publish {key!r}", text)
        return (None if addr == IPv4Address("0.0.0.0") else addr), (int(port) if port.isdigit() else port)

    def external(self, nd: _NetDecl, driver: Driver) -> Network:
        what = f"network {nd.name!r}: external network {nd.external!r}"
        if driver != Driver.BRIDGE:
            raise self.fail(f"{what}: only an existing bridge network can be used for now")
        if nd.subnet or nd.more_subnets or nd.gateway or nd.options or nd.internal:
            raise self.fail(f"{what}: it exists as it is; subnet, gateway, options and internal are Docker's")
        return Network(nd.name, driver, external=nd.external)

    def links(
        self, cd: _CtrDecl, before: list[Container], net_by: dict[str, Network], atts: list[Attachment]
    ) -> tuple[tuple[str, str], ...]:
        """Docker's links on user-defined networks: an alias the linking container alone resolves (its endpoints'
        alias table); the legacy links of the default bridge (/etc/hosts entries, icc=false rules) are not
        modelled."""
        what = f"container {cd.name!r}"
        if cd.links and not any(net_by[a.network].user_defined for a in atts):
            raise self.fail(
                f"{what}: links on the default bridge are Docker's legacy links (/etc/hosts entries, and iptables "
                "rules with icc=false), which netlab does not model; attach both containers to a user-defined network"
            )
        seen: dict[str, str] = {}
        for target, alias in cd.links:
            found = next((c for c in before if c.name == target), None)
            if found is None:
                known = target in self.d.containers and target != cd.name
                raise self.fail(
                    f"{what}: links {target!r}: "
                    + (
                        "declare that container before this one (Docker starts it first)"
                        if known
                        else "no such container"
                    )
                )
            if found.node != cd.node:
                raise self.fail(
                    f"{what}: links {target!r}, which runs on node {found.node!r}: a link is to a "
                    "container of the same daemon"
                )
            if found.joins is not None:
                raise self.fail(
                    f"{what}: links {target!r}, which shares the namespace of {found.joins!r}; link that one"
                )
            if not DNS_NAME.match(alias):
                raise self.fail(f"{what}: link alias {alias!r} is not a DNS name")
            if seen.get(alias, target) != target:
                raise self.fail(f"{what}: link alias {alias!r} names both {seen[alias]!r} and {target!r}")
            seen[alias] = target
        return tuple(dict.fromkeys(cd.links))

    def sysctls(self, cd: _CtrDecl, net_by: dict[str, Network], atts: list[Attachment]) -> tuple[tuple[str, str], ...]:
        """Docker's `--sysctl` for the network namespace: net.* keys of a container with a namespace of its own
        (Docker refuses them on the host's)."""
        what = f"container {cd.name!r}"
        for key, value in cd.sysctls.items():
            if not SYSCTL_KEY.match(key):
                raise self.fail(
                    f"{what}: sysctl {key!r}: netlab sets net.* keys of the container's network namespace "
                    "(net.ipv4.icmp_echo_ignore_all); other namespaced keys change nothing on the network"
                )
            if not SYSCTL_VALUE.match(value):
                raise self.fail(f"{what}: sysctl {key}={value!r}: a value is digits, letters, '.', '-', ' '")
        if cd.sysctls and any(net_by[a.network].driver == Driver.HOST for a in atts):
            raise self.fail(f"{what}: sysctl net.* is not allowed in the host's network namespace (Docker refuses it)")
        return tuple(sorted(cd.sysctls.items()))

    def joining(self, cd: _CtrDecl, before: list[Container]) -> Container:
        """A container in the network namespace of another (Docker's `--network container:NAME`)."""
        what = f"container {cd.name!r}"
        target = next((c for c in before if c.name == cd.joins), None)
        if target is None:
            known = cd.joins in self.d.containers
            raise self.fail(
                f"{what}: network_mode {cd.joins!r}: "
                + ("declare that container before this one (Docker starts it first)" if known else "no such container")
            )
        if target.joins is not None:
            raise self.fail(
                f"{what}: {target.name!r} itself shares {target.joins!r}'s namespace; join {target.joins!r}"
            )
        if target.node != cd.node:
            raise self.fail(f"{what}: {target.name!r} runs on node {target.node!r}; a namespace is shared on one node")
        if cd.networks or cd.ip or cd.more_ips or cd.ip6 or cd.aliases or cd.links or cd.sysctls:
            raise self.fail(
                f"{what}: a container joining {target.name!r}'s namespace has no networks, ip, aliases, links or "
                "sysctls of its own"
            )
        if cd.publish:
            raise self.fail(
                f"{what}: publish and network_mode of a container conflict (Docker: conflicting options); publish "
                f"on {target.name!r}"
            )
        return Container(cd.name, cd.node, (), (), joins=target.name, listen=self.listen(cd))

    def listen(self, cd: _CtrDecl) -> tuple[Probe, ...]:
        out: list[Probe] = []
        for spec in cd.listen:
            try:
                probe = parse_probe(spec)
            except ValueError as e:
                raise self.fail(f"container {cd.name!r}: listen {spec!r}: {e}") from None
            if probe.kind not in (ProbeKind.TCP, ProbeKind.UDP):
                raise self.fail(f"container {cd.name!r}: listen {spec!r}: a socket is 'tcp:PORT' or 'udp:PORT'")
            if probe in out:
                raise self.fail(f"container {cd.name!r}: listen {spec!r} twice")
            out.append(probe)
        return tuple(out)

    def via_address(self, what: str, target: str, via: str, peers: list[Peer], uplinks: list[Uplink]) -> IPv4Address:
        if via in self.d.nodes:
            target_lans = {p.lan for p in peers if p.name == target}
            for u in uplinks:
                if u.node == via and (u.lan in target_lans or not target_lans):
                    return u.address
            raise self.fail(f"{what}: node {via!r} shares no lan with {target!r}")
        for p in peers:
            if p.name == via:  # a router: its leg on a lan of the target's
                target_lans = {lan for q in peers if q.name == target for lan, _ in q.addresses}
                return next((a for lan, a in p.addresses if lan in target_lans), p.address)
        return self.address(what, via)

    def shim_address(self, lan: Lan, peers: list[Peer], uplinks: list[Uplink]) -> IPv4Address:
        used = {a for p in peers for _, a in p.addresses} | {u.address for u in uplinks} | set(self._shims)
        addr = HostAllocator(lan.subnet, used).next_from_top()
        self._shims.append(addr)
        return addr


def _port_and_proto(target: object) -> tuple[object, str]:
    """A published container port as Docker writes it: 80, "80", "80/tcp" or "53/udp"."""
    if isinstance(target, str):
        port, _, proto = target.partition("/")
        return (int(port) if port.isdigit() else port), (proto or "tcp")
    return target, "tcp"


#: a net.* key of /proc/sys/net (interface names included: net.ipv4.conf.eth0.rp_filter)
SYSCTL_KEY = re.compile(r"^net(\.[A-Za-z0-9_-]{1,64}){2,6}\Z")
SYSCTL_VALUE = re.compile(r"^[A-Za-z0-9.\- ]{1,64}\Z")


@dataclass(frozen=True, slots=True)
class _Networks:
    """The builder's networks as the endpoint rules (netlab/model/dockerrules.py) read them."""

    by_name: dict[str, Network]

    def network(self, name: str) -> Network:
        return self.by_name[name]
