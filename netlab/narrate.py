"""What a scenario builds, told in plain words with the commands a student would type.

`deploy_steps(topology)` and `stage_steps(topology, stage)` list Steps: a sentence, the Docker CLI
command that does it on a real Docker host, and the kernel-level commands (ip, iptables) of what Docker
then does (what the netns backend does directly). `diagram(topology)` draws the topology as a tree for a
terminal. Pure functions of the model: nothing is deployed (`netlab explain`, `netlab run --step`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from netlab.i18n import _
from netlab.model import dockerrules
from netlab.model.topology import (
    GWBRIDGE,
    Attachment,
    Connect,
    Container,
    Disconnect,
    Driver,
    Forward,
    Network,
    Publish,
    Route,
    Shim,
    Stage,
    Topology,
    UserRule,
)

IMAGE = "netlab/probe"


@dataclass(frozen=True, slots=True)
class Step:
    what: str  # one sentence, plain words
    docker: list[str] = field(default_factory=list)  # the Docker CLI commands
    kernel: list[str] = field(default_factory=list)  # what that does in the kernel (ip, iptables)
    key: tuple[str, str] | None = None  # (kind, name) a backend passes to its gate hook before doing it


def _ip6(net: Network, attachment: Attachment) -> list[str]:
    """`--ip6 ADDRESS` on a dual-stack network: the IPv6 address netlab gives the container there."""
    six = net.v6_for(attachment)
    return ["--ip6", str(six)] if six is not None else []


def _net_create(t: Topology, net: Network) -> Step:
    if net.external:
        return Step(
            _(
                "Use the existing network {external!r} as {name!r} (external: neither created nor removed; "
                "its subnet and addresses are Docker's)"
            ).format(external=net.external, name=net.name),
            [f"docker network inspect {net.external}"],
        )
    args = ["docker", "network", "create", "-d", str(net.driver)]
    if net.driver == Driver.OVERLAY:
        args.append("--attachable")
    for subnet in net.subnets:
        args += ["--subnet", str(subnet)]
    if net.gateway and net.driver == Driver.BRIDGE:
        args += ["--gateway", str(net.gateway)]
    if net.subnet6 is not None:  # dual stack: Docker's `--ipv6` and the IPv6 subnet (its gateway ::1)
        args += ["--ipv6", "--subnet", str(net.subnet6)]
    if net.internal:
        args.append("--internal")
    parent_if = net.dummy  # no parent given: Docker's dummy link
    if net.driver in (Driver.MACVLAN, Driver.IPVLAN) and net.parent:
        parent_if = t.parent_device(t.nodes[0].name, net.name) or "eth0"
        args += ["-o", f"parent={parent_if}"]
    for key, value in sorted(net.options.items()):
        args += ["-o", f"{key}={value}"]
    args.append(net.name)
    kernel: list[str] = []
    if net.driver == Driver.BRIDGE:
        br = net.bridge_name or "br-<id>"
        kernel = [
            f"ip link add {br} type bridge",
            f"ip addr add {net.gateway}/{net.subnet.prefixlen if net.subnet else 24} dev {br}",
            f"ip link set {br} up",
        ]
        if net.internal:
            kernel.append(
                f"iptables -I DOCKER-ISOLATION-STAGE-1 ! -s {net.subnet} -o {br} -j DROP   "
                + _("(internal: no way out)")
            )
        else:
            if net.masquerade:
                kernel.append(f"iptables -t nat -A POSTROUTING -s {net.subnet} ! -o {br} -j MASQUERADE")
            kernel.append(
                f"iptables -A DOCKER-ISOLATION-STAGE-2 -o {br} -j DROP   " + _("(other bridges cannot reach it)")
            )
        if not net.icc:
            kernel.append(f"iptables -A FORWARD -i {br} -o {br} -j DROP   " + _("(icc off)"))
        what = _(
            "Create the bridge network {name!r} ({subnet}): a Linux bridge on the host, with NAT and isolation rules"
        ).format(name=net.name, subnet=net.subnet)
    elif net.driver == Driver.MACVLAN:
        mode = net.option("macvlan_mode", "bridge")
        what = _(
            "Create the macvlan network {name!r} on parent {parent} ({subnet}, mode {mode}): "
            "nothing is created yet; each container will get its own MAC on the parent's segment"
        ).format(name=net.name, parent=parent_if, subnet=net.subnet, mode=mode)
        kernel = [_("(no iptables rules: macvlan children bypass the host's IP stack)")]
        kernel = _vlan_parent(t, net) + kernel
        if net.dummy:
            what = _(
                "Create the macvlan network {name!r} with no parent ({subnet}, mode {mode}): Docker makes "
                "a dummy link, {dummy}, the parent; its containers reach each other and nothing else"
            ).format(name=net.name, subnet=net.subnet, mode=mode, dummy=net.dummy)
            kernel = [f"ip link add {net.dummy} type dummy", f"ip link set {net.dummy} up", *kernel]
    elif net.driver == Driver.IPVLAN:
        mode = net.option("ipvlan_mode", "l2")
        subnets = ", ".join(map(str, net.subnets))
        what = _(
            "Create the ipvlan network {name!r} on parent {parent} ({subnets}, mode {mode}): "
            "containers will share the parent's MAC"
        ).format(name=net.name, parent=parent_if, subnets=subnets, mode=mode)
        kernel = [*_vlan_parent(t, net), _("(no iptables rules)")]
        if net.dummy:
            what = _(
                "Create the ipvlan network {name!r} with no parent ({subnets}, mode {mode}): Docker makes "
                "a dummy link, {dummy}, the parent; its containers reach each other only"
            ).format(name=net.name, subnets=subnets, mode=mode, dummy=net.dummy)
            kernel = [f"ip link add {net.dummy} type dummy", f"ip link set {net.dummy} up", *kernel]
    elif net.driver == Driver.OVERLAY:
        what = _(
            "Create the overlay network {name!r} ({subnet}): on every node that runs one of its containers, "
            "a bridge and a VXLAN device carrying its traffic over the underlay (UDP 4789)"
        ).format(name=net.name, subnet=net.subnet)
        kernel = [
            "ip link add br0 type bridge   " + _("(in the network's sandbox namespace)"),
            f"ip link add vxlan0 type vxlan id {dockerrules.vni(t, net)} dstport 4789; ip link set vxlan0 master br0",
        ]
    else:
        what = _("Network {name!r} ({driver})").format(name=net.name, driver=net.driver)
    return Step(what, [" ".join(args)], kernel)


def _run_container(t: Topology, c: Container) -> list[Step]:
    if c.joins:
        return [
            Step(
                _("Run container {name!r} in the network namespace of {joins!r}").format(name=c.name, joins=c.joins),
                [f"docker run -d --name {c.name} --network container:{c.joins} {IMAGE}"],
            )
        ]
    if not c.attachments:
        return [
            Step(
                _("Run container {name!r} with no network").format(name=c.name),
                [f"docker run -d --name {c.name} --network none {IMAGE}"],
            )
        ]
    first, *rest = c.attachments
    net = t.network(first.network)
    args = ["docker", "run", "-d", "--name", c.name, "--network", net.external or first.network]
    if first.address and not net.predefined:
        args += ["--ip", str(first.address), *_ip6(net, first)]
    for p in c.publish:
        args += ["-p", _publish_flag(p)]
    if c.node != t.nodes[0].name:
        args = ["DOCKER_HOST=<" + c.node + ">", *args]
    args.append(IMAGE)
    steps = [
        Step(_joins(t, c.name, first.network, first.address, c.publish), [" ".join(args)], _attach(t, c, first.network))
    ]
    for att in rest:
        if att.network == GWBRIDGE:
            steps.append(
                Step(
                    _("Docker also gives {name!r} an interface on {gwbridge} ({address}), its way out").format(
                        name=c.name, gwbridge=GWBRIDGE, address=att.address
                    ),
                    [],
                    _attach(t, c, att.network),
                )
            )
            continue
        extra = (
            ["docker", "network", "connect"]
            + (["--ip", str(att.address), *_ip6(t.network(att.network), att)] if att.address else [])
            + [t.network(att.network).external or att.network, c.name]
        )
        steps.append(
            Step(_joins(t, c.name, att.network, att.address, ()), [" ".join(extra)], _attach(t, c, att.network))
        )
    return steps


def _publish_flag(p: Publish) -> str:
    """Docker's `-p` for a published port: `8080:80`, `127.0.0.1:8080:80`, `9053:53/udp`."""
    on = f"{p.host_ip}:" if p.host_ip else ""
    return f"{on}{p.host_port}:{p.container_port}" + ("" if p.proto == "tcp" else f"/{p.proto}")


def _joins(t: Topology, name: str, network: str, address: object, publish: tuple[Publish, ...]) -> str:
    net = t.network(network)
    if net.driver == Driver.HOST:
        run = _("Run container {name!r}: it shares the host's own network stack (no namespace of its own)")
    elif net.driver == Driver.NONE:
        run = _("Run container {name!r}: it gets loopback only")
    elif address:
        run = _("Run container {name!r}: it joins {network!r} ({driver}) as {address}")
    else:
        run = _("Run container {name!r}: it joins {network!r} ({driver}) as the address Docker gives it")
    pub = (
        "; "
        + ", ".join(
            _("host port {host_port} -> its port {container_port}").format(
                host_port=f"{(str(p.host_ip) + ':') if p.host_ip else ''}{p.host_port}",
                container_port=p.container_port,
            )
            for p in publish
        )
        if publish
        else ""
    )
    return run.format(name=name, network=network, driver=net.driver, address=address) + pub


def _attach(t: Topology, c: Container, network: str) -> list[str]:
    net = t.network(network)
    if net.driver == Driver.BRIDGE:
        br = net.bridge_name or "br-<id>"
        rules = [
            f"ip link add veth<x> type veth peer name eth<n> netns {c.name}",
            f"ip link set veth<x> master {br} up",
        ]
        mine = next((a.address for a in c.attachments if a.network == network), None)
        for p in c.publish:
            on = f"-d {p.host_ip}/32 " if p.host_ip else ""
            rules.append(
                f"iptables -t nat -A DOCKER {on}! -i {br} -p {p.proto} --dport {p.host_port} "
                f"-j DNAT --to-destination {mine or '<its address>'}:{p.container_port}"
            )
        return rules
    if net.driver in (Driver.MACVLAN, Driver.IPVLAN):
        parent = t.parent_device(c.node, net.name) or "eth0"
        kind = (
            "macvlan mode " + net.option("macvlan_mode", "bridge")
            if net.driver == Driver.MACVLAN
            else "ipvlan mode " + net.option("ipvlan_mode", "l2")
        )
        return [f"ip link add link {parent} name eth<n> type {kind}", f"ip link set eth<n> netns {c.name}"]
    if net.driver == Driver.OVERLAY:
        mine = next((a.address for a in c.attachments if a.network == network), None)
        ups = t.uplinks_of(c.node)
        return [
            f"ip link add veth<x> type veth peer name eth<n> netns {c.name}   " + _("(into the overlay's br0)"),
            f"bridge fdb append {dockerrules.mac_of(mine) if mine else '<its MAC>'} dev vxlan0 dst "
            f"{ups[0].address if ups else '<its node address>'}   " + _("(on the other nodes)"),
        ]
    return []


def _vlan_parent(t: Topology, net: Network) -> list[str]:
    """Docker's 802.1Q sub-interface for a `parent=eth0.50` that does not exist yet (removed with the network)."""
    lan = t.lan(net.parent) if net.parent else None
    if lan is None or lan.trunk is None:
        return []
    up = t.uplink(t.nodes[0].name, lan.trunk)
    trunk = up.ifname if up else "eth0"
    return [
        f"ip link add link {trunk} name {trunk}.{lan.vid} type vlan id {lan.vid}   "
        + _("(Docker: the parent is missing)")
    ]


def deploy_steps(t: Topology) -> list[Step]:
    steps: list[Step] = []
    for lan in t.lans:
        members = [f"{u.node} ({u.ifname} {u.address})" for u in t.uplinks if u.lan == lan.name]
        members += [f"{p.name} ({a})" for p in t.peers for on, a in p.addresses if on == lan.name]
        if lan.trunk is not None:
            vlan = (
                _("VLAN {vid} on the trunk {trunk} ({subnet}): frames tagged {vid} on {trunk}'s wire, for {members}")
                if members
                else _("VLAN {vid} on the trunk {trunk} ({subnet}): frames tagged {vid} on {trunk}'s wire, for no peer")
            )
            steps.append(
                Step(
                    vlan.format(vid=lan.vid, trunk=lan.trunk, subnet=lan.subnet, members=", ".join(members)),
                    [],
                    [
                        f"ip link add link eth0 name eth0.{lan.vid} type vlan id {lan.vid}   "
                        + _("(on each of its peers)")
                    ],
                    ("lan", lan.name),
                )
            )
            continue
        steps.append(
            Step(
                _("Lay the physical segment {name} ({subnet}): a switch joining {members}").format(
                    name=lan.name, subnet=lan.subnet, members=", ".join(members)
                ),
                [],
                [f"ip link add {lan.name} type bridge"],
                ("lan", lan.name),
            )
        )
    if t.daemon:
        flags = " ".join(t.daemon_flags())
        steps.append(
            Step(
                _("Start the Docker daemon with {flags} (the options this scenario's daemon runs with)").format(
                    flags=flags
                ),
                [f"dockerd {flags}   " + _("(or in /etc/docker/daemon.json; restart the daemon)")],
                [
                    *(
                        ["-A FORWARD -i docker0 -o docker0 -j DROP   " + _("(icc off: the default bridge only)")]
                        if ("icc", "false") in t.daemon
                        else []
                    ),
                ],
            )
        )
    if len(t.nodes) > 1:
        steps.append(
            Step(
                _("Start Docker on every node ({nodes}) and join them into a swarm").format(
                    nodes=", ".join(n.name for n in t.nodes)
                ),
                [
                    "docker swarm init   " + _("(on the first node)"),
                    "docker swarm join --token <token> <manager>:2377   " + _("(on the others)"),
                ],
            )
        )
    created: set[str] = set()
    for node in t.nodes:
        for net in t.networks_on(node.name):
            if net.name == GWBRIDGE:
                if not any(a.network == GWBRIDGE for c in t.containers if c.node == node.name for a in c.attachments):
                    continue
                steps.append(
                    Step(
                        _(
                            "Docker itself creates {gwbridge} on node {node} ({subnet}): the way out for its "
                            "overlay containers, masqueraded like any bridge"
                        ).format(gwbridge=GWBRIDGE, node=node.name, subnet=net.subnet),
                        [],
                        [
                            f"ip link add {GWBRIDGE} type bridge",
                            f"iptables -t nat -A POSTROUTING -s {net.subnet} ! -o {GWBRIDGE} -j MASQUERADE",
                        ],
                    )
                )
                continue
            if net.predefined or net.name in created:
                continue  # Docker's own networks; an overlay network is created once, for the whole swarm
            created.add(net.name)
            step = _net_create(t, net)
            if node.name != t.nodes[0].name and net.driver != Driver.OVERLAY:
                step = Step(
                    step.what + " " + _("(on node {node})").format(node=node.name),
                    [f"DOCKER_HOST=<{node.name}> {c}" for c in step.docker],
                    step.kernel,
                )
            steps.append(replace(step, key=("network", net.name)))
    for c in t.containers:
        first, *more = _run_container(t, c)
        steps += [replace(first, key=("container", c.name)), *more]
    steps += [user_rule_step(a) for a in t.stages[0].actions if isinstance(a, UserRule)]
    return steps


def user_rule_step(a: UserRule) -> Step:
    return Step(
        _("Add a rule of your own to {node}'s DOCKER-USER chain: {rule}").format(node=a.node, rule=a.rule),
        [
            f"iptables -I DOCKER-USER {a.rule}   "
            + _("(on {node}; Docker never touches this chain's rules)").format(node=a.node)
        ],
        [_("FORWARD jumps to DOCKER-USER before any rule of Docker's: every forwarded packet meets this rule first")],
    )


def stage_steps(t: Topology, stage: Stage) -> list[Step]:
    """One step per action; keys ("action", "<stage index>:<action index>") match the backends' gates."""
    out: list[Step] = []
    for a in stage.actions:
        if isinstance(a, Route):
            out.append(
                Step(
                    _("On {target}, route {subnet} via {via}").format(target=a.target, subnet=a.subnet, via=a.via),
                    [],
                    [f"ip route add {a.subnet} via {a.via}   " + _("(on {node})").format(node=a.target)],
                )
            )
        elif isinstance(a, Forward):
            legs = next(p for p in t.peers if p.name == a.router).addresses
            out.append(
                Step(
                    _(
                        "{router} starts routing between {legs}: a packet for another of its subnets now leaves "
                        "by that leg instead of being dropped"
                    ).format(router=a.router, legs=", ".join(f"{lan} ({addr})" for lan, addr in legs)),
                    [],
                    ["sysctl -w net.ipv4.ip_forward=1   " + _("(on {node})").format(node=a.router)],
                )
            )
        elif isinstance(a, Shim):
            up = t.uplink(a.node, a.lan)
            parent = up.ifname if up else "eth0"
            out.append(
                Step(
                    _(
                        "Give {node} a macvlan interface of its own on {lan} ({address}), "
                        "so it can reach its macvlan containers"
                    ).format(node=a.node, lan=a.lan, address=a.address),
                    [],
                    [
                        f"ip link add macvlan-shim link {parent} type macvlan mode bridge",
                        f"ip addr add {a.address}/32 dev macvlan-shim",
                        "ip link set macvlan-shim up",
                        *(
                            f"ip route add {x}/32 dev macvlan-shim"
                            for x in _macvlan_children(t, t.stages.index(stage), a.node, a.lan)
                        ),
                    ],
                )
            )
        elif isinstance(a, Connect):
            ip = (
                ["--ip", str(a.address), *_ip6(t.network(a.network), Attachment(a.network, a.address))]
                if a.address
                else []
            )
            c = next(x for x in t.containers_at(t.stages.index(stage)) if x.name == a.container)
            out.append(
                Step(
                    _joins(t, a.container, a.network, a.address, ()),
                    [" ".join(["docker", "network", "connect", *ip, a.network, a.container])],
                    _attach(t, c, a.network),
                )
            )
        elif isinstance(a, Disconnect):
            out.append(
                Step(
                    _("Take {container} off {network!r}").format(container=a.container, network=a.network),
                    [f"docker network disconnect {a.network} {a.container}"],
                    [],
                )
            )
        elif isinstance(a, UserRule):
            out.append(user_rule_step(a))
    index = t.stages.index(stage)
    return [replace(s, key=("action", f"{index}:{k}")) for k, s in enumerate(out)]


def _macvlan_children(t: Topology, stage_index: int, node: str, lan: str) -> list[object]:
    """The addresses of a node's macvlan (bridge mode) children on a lan: a shim routes each, not the subnet (a
    route to the whole subnet would shadow the node's own route to the lan)."""
    return [
        a.address
        for c in t.containers_at(stage_index)
        if c.node == node
        for a in c.attachments
        if a.address is not None
        and t.network(a.network).driver == Driver.MACVLAN
        and t.network(a.network).parent == lan
    ]


def diagram(t: Topology) -> list[str]:
    """The topology as a tree: lans (with their peers and node uplinks), then per node its networks and
    their containers. Overlay networks span nodes and are listed once per node that has containers on them."""
    out: list[str] = []
    for lan in t.lans:
        kind = (
            _("(VLAN {vid} on the trunk {trunk})").format(vid=lan.vid, trunk=lan.trunk)
            if lan.trunk
            else _("(physical segment)")
        )
        out.append(f"{lan.name} {lan.subnet}   {kind}")
        rows = [
            f"{p.name} {a}   " + (_("(router)") if p.router else _("(external system)"))
            for p in t.peers
            for on, a in p.addresses
            if on == lan.name
        ]
        rows += [f"{u.node} {u.ifname} {u.address}   " + _("(Docker host)") for u in t.uplinks if u.lan == lan.name]
        out += _branch(rows, "")
    for node in t.nodes:
        out.append(_("node {name}   (Docker host)").format(name=node.name))
        nets = list(t.networks_on(node.name))
        containers = [c for c in t.containers if c.node == node.name]
        blocks: list[tuple[str, list[str]]] = []
        for net in nets:
            members = [c for c in containers if any(a.network == net.name for a in c.attachments)]
            if net.predefined and not members:
                continue
            label = f"[{net.driver}] {net.name}"
            if net.subnets:
                label += " " + ", ".join(map(str, net.subnets))
            if net.driver == Driver.BRIDGE and net.bridge_name:
                label += f"  ({net.bridge_name})"
            if net.driver in (Driver.MACVLAN, Driver.IPVLAN) and (net.parent or net.dummy):
                device = t.parent_device(node.name, net.name) or "?"
                label += "  " + (
                    _("(parent {device} on {lan})").format(device=device, lan=net.parent)
                    if net.parent
                    else _("(parent {device} on nothing)").format(device=device)
                )
            if net.internal:
                label += "  " + _("internal")
            if net.driver == Driver.NONE:
                label += "  " + _("(loopback only)")
            rows = []
            for c in members:
                addr = next((a.address for a in c.attachments if a.network == net.name), None)
                ports = ", ".join(
                    f"{(str(p.host_ip) + ':') if p.host_ip else ''}{p.host_port}->{p.container_port}" for p in c.publish
                )
                pub = ""
                if c.publish and net.driver == Driver.HOST:
                    discarded = _("-p {ports} discarded (host networking: Docker publishes nothing)")
                    pub = "  " + discarded.format(ports=ports)
                elif c.publish:
                    pub = "  " + _("publishes {ports}").format(ports=ports)
                joined = [j.name for j in containers if j.joins == c.name]
                shared = (
                    "  "
                    + _("(shared by {containers}: network_mode container:{name})").format(
                        containers=", ".join(joined), name=c.name
                    )
                    if joined
                    else ""
                )
                rows.append(f"{c.name}" + (f" {addr}" if addr else "") + pub + shared)
            blocks.append((label, rows))
        for i, (label, rows) in enumerate(blocks):
            last = i == len(blocks) - 1
            out.append(("└── " if last else "├── ") + label)
            out += _branch(rows, "    " if last else "│   ")
    return out


def _branch(rows: list[str], indent: str) -> list[str]:
    return [indent + ("└── " if i == len(rows) - 1 else "├── ") + r for i, r in enumerate(rows)]
