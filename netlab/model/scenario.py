"""The scenario builder: what scenario scripts call. It only records; `build()` validates and freezes.

s = Scenario("bridge", title="...")
net = s.network("a", driver="bridge")
c1 = s.container("c1", net)
s.expect(c1, "host", "icmp", reachable=True)
SCENARIO = s
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from typing import Any

from netlab.model.addressing import POOL, HostAllocator, SubnetAllocator, docker_network_id, in_pool
from netlab.model.errors import InvalidScenario as ScenarioError
from netlab.model.expectations import parse_probe
from netlab.model.topology import (
    GWBRIDGE,
    HOST,
    INITIAL,
    PREDEFINED,
    Action,
    Attachment,
    Connect,
    Container,
    Disconnect,
    Driver,
    Expectation,
    Lan,
    Network,
    Node,
    Peer,
    Publish,
    Route,
    Shim,
    Stage,
    Topology,
    Uplink,
)

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,14}\Z")
#: a scenario's own name: it labels Docker objects and journals and is printed; no spaces, slashes or controls
SCENARIO_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
#: interface names the kernel accepts and Docker passes through (com.docker.network.bridge.name)
IFNAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}\Z")
STAGE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}\Z")
MAX_CONTAINERS = 500
MAX_TEXT = 2000
#: the network options both backends implement (Docker's own keys); anything else is refused rather than
#: handed to dockerd unchecked
OPTIONS = {
    "com.docker.network.bridge.enable_icc": (Driver.BRIDGE,),
    "com.docker.network.bridge.enable_ip_masquerade": (Driver.BRIDGE,),
    "com.docker.network.bridge.name": (Driver.BRIDGE,),
    "macvlan_mode": (Driver.MACVLAN,),
    "ipvlan_mode": (Driver.IPVLAN,),
}


def _text(what: str, value: Any, multiline: bool = False) -> str:
    """Free text (titles, docs, claims) is printed on terminals and in HTML: a string without control
    characters (escape sequences could rewrite the user's terminal), newlines and tabs only in docs."""
    if not isinstance(value, str):
        raise ScenarioError(f"{what}: expected a string, got {type(value).__name__}")
    allowed = "\n\t" if multiline else ""
    bad = next((ch for ch in value if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0) and ch not in allowed), None)
    if bad is not None:
        raise ScenarioError(f"{what}: contains the control character {bad!r}; use plain text")
    if len(value) > MAX_TEXT:
        raise ScenarioError(f"{what}: {len(value)} characters (at most {MAX_TEXT})")
    return value


@dataclass(frozen=True, slots=True)
class Ref:
    """What the builder hands back: a kind and a name, usable wherever a name is."""

    kind: str
    name: str

    def __str__(self) -> str:
        return self.name


Endpointish = Ref | str


def _name(x: Endpointish | Any) -> str:
    if isinstance(x, Ref):
        return x.name
    if isinstance(x, str):
        return x
    raise ScenarioError(f"expected a name or an object returned by the scenario, got {x!r}")


@dataclass(slots=True)
class _NetDecl:
    name: str
    driver: str
    subnet: str | None
    more_subnets: tuple[str, ...]
    gateway: str | None
    parent: str | None
    options: dict[str, str]
    internal: bool


@dataclass(slots=True)
class _CtrDecl:
    name: str
    networks: list[str]
    node: str
    publish: dict[int, int]
    ip: str | None


@dataclass(slots=True)
class _ExpDecl:
    stage: str
    src: str
    dst: str
    probe: str
    reachable: bool
    claim: str | None
    address: str | None


@dataclass(slots=True)
class _StageDecl:
    name: str
    doc: str
    actions: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


class StageBuilder:
    """Actions and expectations of one stage, applied after the previous stage was measured."""

    def __init__(self, scenario: Scenario, decl: _StageDecl) -> None:
        self._s = scenario
        self._d = decl

    def route(self, src: Endpointish, dst_subnet: Endpointish, via: Endpointish) -> None:
        """On `src` add a route to `dst_subnet` (a subnet or a network) via `via` (an endpoint or an address)."""
        self._d.actions.append(("route", (_name(src), _name(dst_subnet), _name(via))))

    def shim(self, node: Endpointish, lan: Endpointish) -> None:
        self._d.actions.append(("shim", (_name(node), _name(lan))))

    def connect(self, container: Endpointish, network: Endpointish, ip: str | None = None) -> None:
        self._d.actions.append(("connect", (_name(container), _name(network), ip or "")))

    def disconnect(self, container: Endpointish, network: Endpointish) -> None:
        self._d.actions.append(("disconnect", (_name(container), _name(network))))

    def expect(
        self,
        src: Endpointish,
        dst: Endpointish,
        probe: str = "icmp",
        reachable: bool = True,
        claim: str | None = None,
        address: str | None = None,
    ) -> None:
        self._s._add_expectation(self._d.name, src, dst, probe, reachable, claim, address)

    def expect_matrix(self, table: str, probe: str = "icmp") -> None:
        """Expectations of this stage as a truth table (see Scenario.expect_matrix)."""
        self._s._add_matrix(table, probe, self._d.name)


class Scenario:
    """Builder for scenario scripts (contract in DESIGN.md)."""

    def __init__(self, name: str, title: str = "", doc: str = "") -> None:
        if not isinstance(name, str) or not SCENARIO_NAME_RE.match(name):
            raise ScenarioError(
                f"scenario name {name!r}: 1-64 characters, letters, digits, '_', '.' and '-', starting with a "
                "letter or digit"
            )
        self.name = name
        self.title = _text("scenario title", title) or name
        self.doc = _text("scenario doc", doc, multiline=True)
        self._nodes: list[str] = [HOST]
        self._lans: dict[str, str] = {}
        self._peers: dict[str, tuple[str, str | None]] = {}
        self._networks: dict[str, _NetDecl] = {}
        self._containers: dict[str, _CtrDecl] = {}
        self._expectations: list[_ExpDecl] = []
        self._stages: list[_StageDecl] = []
        self._names: dict[str, str] = {HOST: "node"}
        self._current_stage = INITIAL
        self._claims: list[tuple[str, bool]] = []

    # -- declarations --------------------------------------------------
    def _claim_name(self, kind: str, name: str) -> None:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ScenarioError(
                f"{kind} {name!r}: names are 1-15 characters, lower-case letters, digits and '_', "
                "starting with a letter"
            )
        if name == GWBRIDGE:
            raise ScenarioError(f"{kind} {name!r}: that name belongs to Docker's swarm gateway bridge")
        if name in self._names:
            raise ScenarioError(f"{kind} {name!r}: duplicate name (already used by a {self._names[name]})")
        if name in PREDEFINED:
            if kind == "network":
                raise ScenarioError(
                    f"network {name!r}: that name belongs to Docker's predefined network; use it by name"
                )
            raise ScenarioError(f"{kind} {name!r}: that name belongs to Docker's predefined network; pick another")
        self._names[name] = kind

    def node(self, name: str) -> Ref:
        self._claim_name("node", name)
        self._nodes.append(name)
        return Ref("node", name)

    def lan(self, name: str, subnet: str | None = None) -> Ref:
        self._claim_name("lan", name)
        self._lans[name] = subnet or ""
        return Ref("lan", name)

    def peer(self, name: str, lan: Endpointish, address: str | None = None) -> Ref:
        self._claim_name("peer", name)
        self._peers[name] = (_name(lan), address)
        return Ref("peer", name)

    def network(
        self,
        name: str,
        driver: str = "bridge",
        subnet: str | Sequence[str] | None = None,
        gateway: str | None = None,
        parent: Endpointish | None = None,
        options: Mapping[str, Any] | None = None,
        internal: bool = False,
    ) -> Ref:
        """`subnet` may list several subnets for macvlan/ipvlan (`docker network create --subnet A --subnet B`);
        containers pick one with `ip=`, the first is the default."""
        self._claim_name("network", name)
        what = f"network {name!r}"
        if (
            subnet is not None
            and not isinstance(subnet, str)
            and not (isinstance(subnet, Sequence) and all(isinstance(x, str) for x in subnet))
        ):
            raise ScenarioError(f"{what}: subnet must be a string like '198.18.5.0/24' or a list of them")
        if gateway is not None and not isinstance(gateway, str):
            raise ScenarioError(f"{what}: gateway must be an address string")
        if not isinstance(internal, bool):
            raise ScenarioError(f"{what}: internal must be True or False")
        if options is not None and not isinstance(options, Mapping):
            raise ScenarioError(f"{what}: options must be a dict of Docker option keys to values")
        subnets = [subnet] if isinstance(subnet, str) or subnet is None else list(subnet)
        if len(subnets) > 1 and driver not in (Driver.MACVLAN, Driver.IPVLAN):
            raise ScenarioError(f"network {name!r}: several subnets are only supported for macvlan and ipvlan")
        if not subnets:
            raise ScenarioError(f"network {name!r}: subnet list is empty")
        if not isinstance(driver, str) or driver not in [d.value for d in Driver]:
            valid = ", ".join(d.value for d in Driver)
            raise ScenarioError(f"network {name!r}: unknown driver {driver!r}; valid drivers are {valid}")
        opts = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in (options or {}).items()}
        self._networks[name] = _NetDecl(
            name,
            driver,
            subnets[0],
            tuple(str(x) for x in subnets[1:]),
            gateway,
            _name(parent) if parent is not None else None,
            opts,
            internal,
        )
        return Ref("network", name)

    def container(
        self,
        name: str,
        *networks: Endpointish,
        node: Endpointish = HOST,
        publish: Mapping[int, int] | None = None,
        ip: str | None = None,
    ) -> Ref:
        self._claim_name("container", name)
        if publish is not None and not isinstance(publish, Mapping):
            raise ScenarioError(f"container {name!r}: publish must be a dict {{host port: container port}}")
        if ip is not None and not isinstance(ip, str):
            raise ScenarioError(f"container {name!r}: ip must be an address string")
        self._containers[name] = _CtrDecl(
            name, [_name(n) for n in networks] or ["bridge"], _name(node), dict(publish or {}), ip
        )
        return Ref("container", name)

    def expect(
        self,
        src: Endpointish,
        dst: Endpointish,
        probe: str = "icmp",
        reachable: bool = True,
        claim: str | None = None,
        address: str | None = None,
    ) -> None:
        self._add_expectation(INITIAL, src, dst, probe, reachable, claim, address)

    def expect_matrix(self, table: str, probe: str = "icmp") -> None:
        """Expectations of the first stage as a truth table: a header line of destination names, then one
        row per source; cells `.` reachable, `X` unreachable, `-` not checked (netlab/model/matrixfile.py).
        `probe:` lines inside the text switch the probe for the tables that follow."""
        self._add_matrix(table, probe, INITIAL)

    def _add_matrix(self, table: str, probe: str, stage: str) -> None:
        from netlab.model import matrixfile

        if not isinstance(table, str):
            raise ScenarioError("expect_matrix: the table must be a string")
        try:
            parse_probe(probe)
            cells = matrixfile.parse_table(table, f"{self.name} expect_matrix", probe=probe.lower())
        except ValueError as e:
            raise ScenarioError(f"expect_matrix: {e}") from e
        except matrixfile.MatrixError as e:
            raise ScenarioError(str(e)) from e
        for c in cells:
            if c.stage is not None and c.stage != stage:
                raise ScenarioError(
                    f"{self.name} expect_matrix:{c.stage_line}:1: 'stage:' lines belong in matrix files; "
                    f"call expect_matrix inside `with s.stage({c.stage!r}) as st:` as st.expect_matrix(...)"
                )
            self._add_expectation(stage, c.src, c.dst, c.probe, c.reachable, None, None)

    def _add_expectation(
        self,
        stage: str,
        src: Endpointish,
        dst: Endpointish,
        probe: str,
        reachable: bool,
        claim: str | None,
        address: str | None,
    ) -> None:
        if not isinstance(reachable, bool):
            raise ScenarioError(f"expectation {src}->{dst}: reachable must be True or False")
        if not isinstance(probe, str):
            raise ScenarioError(f"expectation {src}->{dst}: probe must be a string like 'icmp' or 'tcp:80'")
        if claim is not None:
            _text(f"expectation {src}->{dst}: claim", claim)
        self._expectations.append(_ExpDecl(stage, _name(src), _name(dst), probe, reachable, claim, address))

    def claim(self, claim_id: str, holds: bool = True) -> None:
        """Check one of the lecture's claims (netlab/model/claims.py) on this run's evidence; `holds=False`
        where the scenario shows the lecture wrong (the run passes when the claim fails as expected)."""
        from netlab.model.claims import BY_ID

        if claim_id not in BY_ID:
            raise ScenarioError(f"claim {claim_id!r}: unknown; the lecture's claims are {', '.join(BY_ID)}")
        if not isinstance(holds, bool):
            raise ScenarioError(f"claim {claim_id!r}: holds must be True or False")
        self._claims.append((claim_id, holds))

    @contextmanager
    def stage(self, name: str, doc: str = "") -> Iterator[StageBuilder]:
        if not isinstance(name, str) or not STAGE_RE.match(name):
            raise ScenarioError(
                f"stage {name!r}: stage names are 1-32 characters, lower-case letters, digits, '_' and '-', "
                "starting with a letter"
            )
        _text(f"stage {name!r}: doc", doc)
        if name == INITIAL or any(st.name == name for st in self._stages):
            raise ScenarioError(f"stage {name!r}: duplicate stage name")
        decl = _StageDecl(name, doc)
        self._stages.append(decl)
        yield StageBuilder(self, decl)

    # -- validation and freezing ----------------------------------------
    def build(self, subnet_offset: int = 0) -> Topology:
        """Validate and freeze. `subnet_offset`: where in the pool (in /24s) the subnets netlab picks itself
        start; concurrent runs get different offsets from their leases (netlab/lease.py)."""
        return _Builder(self, subnet_offset).build()


class _Builder:
    """Turns the recorded declarations into a frozen, validated Topology."""

    def __init__(self, s: Scenario, subnet_offset: int = 0) -> None:
        self.s = s
        self.subnet_offset = subnet_offset
        self._lan_addresses: list[IPv4Address] = []
        self._ipam: dict[str, HostAllocator] = {}
        self._shims: list[IPv4Address] = []
        self._attached: dict[str, set[str]] = {}

    def fail(self, msg: str) -> ScenarioError:
        return ScenarioError(msg)

    def subnet(self, what: str, text: str) -> IPv4Network:
        try:
            net = ip_network(text, strict=True)
        except ValueError as e:
            raise self.fail(f"{what}: invalid subnet {text!r} ({e})") from e
        if not isinstance(net, IPv4Network):
            raise self.fail(f"{what}: only IPv4 subnets are supported, got {text!r}")
        if not in_pool(net):
            raise self.fail(f"{what}: subnet {net} is outside netlab's pool {POOL}; use a subnet inside it")
        return net

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
        s = self.s
        if len(s._containers) > MAX_CONTAINERS:
            raise self.fail(f"scenario {s.name!r}: {len(s._containers)} containers (at most {MAX_CONTAINERS})")
        explicit: list[tuple[str, IPv4Network]] = []
        lans: list[Lan] = []
        for name, text in s._lans.items():
            if text:
                net = self.subnet(f"lan {name!r}", text)
                explicit.append((f"lan {name!r}", net))
        decl_subnets: dict[str, IPv4Network] = {}
        for nd in s._networks.values():
            if nd.subnet:
                decl_subnets[nd.name] = self.subnet(f"network {nd.name!r}", nd.subnet)
            for i, extra in enumerate(nd.more_subnets):
                decl_subnets[f"{nd.name}#{i + 1}"] = self.subnet(f"network {nd.name!r}", extra)
        self.check_overlaps(explicit, decl_subnets)
        alloc = SubnetAllocator([n for _, n in explicit] + list(decl_subnets.values()), offset=self.subnet_offset)
        for name, text in s._lans.items():
            lans.append(Lan(name, self.subnet(f"lan {name!r}", text) if text else alloc.allocate()))
        lan_by = {lan.name: lan for lan in lans}

        # nodes' uplinks and peers take lan addresses from the top of the lan subnet
        lan_hosts = {lan.name: HostAllocator(lan.subnet) for lan in lans}
        for pname, (lname, addr) in s._peers.items():
            if lname not in lan_by:
                raise self.fail(f"peer {pname!r}: unknown lan {lname!r}")
            if addr:
                a = self.address(f"peer {pname!r}", addr, lan_by[lname].subnet)
                if lan_hosts[lname].is_used(a):
                    raise self.fail(f"peer {pname!r}: address {a} is already taken on lan {lname!r}")
                lan_hosts[lname].reserve(a)
        uplinks: list[Uplink] = []
        for node in s._nodes:
            for i, lan in enumerate(lans):
                uplinks.append(Uplink(node, lan.name, lan_hosts[lan.name].next_from_top(), f"eth{i}"))
        peers: list[Peer] = []
        for pname, (lname, addr) in s._peers.items():
            a = (
                self.address(f"peer {pname!r}", addr, lan_by[lname].subnet)
                if addr
                else lan_hosts[lname].next_from_top()
            )
            peers.append(Peer(pname, lname, a))

        self._lan_addresses = [u.address for u in uplinks] + [p.address for p in peers]
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
            name=s.name,
            title=s.title,
            doc=s.doc,
            nodes=tuple(Node(n) for n in s._nodes),
            lans=tuple(lans),
            uplinks=tuple(uplinks),
            peers=tuple(peers),
            networks=tuple(networks),
            containers=tuple(containers),
            stages=stages,
            warnings=warnings,
            claims=tuple(s._claims),
            subnet_offset=self.subnet_offset,
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
                nd = self.s._networks[w.split("'")[1].split("#")[0]]
                if nd.driver in (Driver.MACVLAN, Driver.IPVLAN) and other == f"lan {nd.parent!r}":
                    return True
        return False

    def networks(
        self,
        alloc: SubnetAllocator,
        decl_subnets: dict[str, IPv4Network],
        lan_by: dict[str, Lan],
    ) -> list[Network]:
        s = self.s
        default = alloc.allocate()
        out = [
            Network(
                "bridge",
                Driver.BRIDGE,
                default,
                next(default.hosts()),
                predefined=True,
                bridge_name="docker0",
            ),
            Network("host", Driver.HOST, predefined=True),
            Network("none", Driver.NONE, predefined=True),
        ]
        for nd in s._networks.values():
            what = f"network {nd.name!r}"
            driver = Driver(nd.driver)
            if driver in (Driver.HOST, Driver.NONE):
                raise self.fail(f"{what}: only one {driver} network exists; use the predefined {str(driver)!r}")
            parent = nd.parent
            if driver in (Driver.MACVLAN, Driver.IPVLAN):
                if parent is None:
                    raise self.fail(f"{what}: {driver} needs parent=<a lan> (the node's uplink on it)")
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
            more = tuple(decl_subnets[f"{nd.name}#{i + 1}"] for i in range(len(nd.more_subnets)))
            bridge_name = None
            if driver == Driver.BRIDGE:
                bridge_name = nd.options.get(
                    "com.docker.network.bridge.name", "br-" + docker_network_id(s.name, nd.name)[:12]
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
        bools = ("com.docker.network.bridge.enable_icc", "com.docker.network.bridge.enable_ip_masquerade")
        for key in bools:
            if key in options and options[key] not in ("true", "false"):
                raise self.fail(f"{what}: option {key} must be true or false, got {options[key]!r}")
        modes = {"macvlan_mode": ("bridge", "private", "vepa", "passthru"), "ipvlan_mode": ("l2", "l3", "l3s")}
        for key, valid in modes.items():
            if key in options and options[key] not in valid:
                raise self.fail(f"{what}: {key} {options[key]!r} is not one of {', '.join(valid)}")

    def containers(self, net_by: dict[str, Network]) -> list[Container]:
        s = self.s
        ipam: dict[str, HostAllocator] = {}
        for n in net_by.values():
            if n.subnet is not None:
                taken = [n.gateway] if n.gateway else []
                taken += [a for a in self._lan_addresses if a in n.subnet]
                ipam[n.name] = HostAllocator(n.subnet, taken)
        # explicit addresses first, so automatic ones never take them
        for cd in s._containers.values():
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
        self._ipam = ipam
        out: list[Container] = []
        for cd in s._containers.values():
            what = f"container {cd.name!r}"
            if cd.node not in s._nodes:
                raise self.fail(f"{what}: unknown node {cd.node!r}")
            atts: list[Attachment] = []
            for i, nname in enumerate(cd.networks):
                if nname not in net_by:
                    raise self.fail(f"{what}: unknown network {nname!r}")
                if nname in (a.network for a in atts):
                    raise self.fail(f"{what}: attached to {nname!r} twice")
                atts.append(Attachment(nname, self.assign(cd, nname, i == 0, net_by)))
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
            for hp, cp in cd.publish.items():
                for port in (hp, cp):
                    if not isinstance(port, int) or not 1 <= port <= 65535:
                        raise self.fail(f"{what}: publish port {port!r} is not a port number")
                publish.append(Publish(hp, cp))
            out.append(Container(cd.name, cd.node, tuple(atts), tuple(publish)))
            self._attached[cd.name] = {a.network for a in atts}
        for n in net_by.values():
            if n.driver == Driver.MACVLAN and n.option("macvlan_mode", "bridge") == "passthru":
                for node in s._nodes:
                    on = [c.name for c in out if c.node == node and n.name in (a.network for a in c.attachments)]
                    if len(on) > 1:
                        raise self.fail(
                            f"network {n.name!r}: macvlan passthru takes over the parent, so only one container "
                            f"per node can use it ({', '.join(on)} on {node!r})"
                        )
        return out

    def assign(self, cd: _CtrDecl, nname: str, first: bool, net_by: dict[str, Network]) -> IPv4Address | None:
        if not net_by[nname].has_addresses:
            return None
        if first and cd.ip:
            return ip_address(cd.ip)  # type: ignore[return-value]  # validated above
        return self._ipam[nname].next()

    def stages(
        self,
        net_by: dict[str, Network],
        containers: list[Container],
        lan_by: dict[str, Lan],
        peers: list[Peer],
        uplinks: list[Uplink],
    ) -> tuple[Stage, ...]:
        s = self.s
        endpoints = {*s._nodes, *s._containers, *s._peers}
        ctr_nodes = {c.name: c.node for c in containers}
        exps: dict[str, list[Expectation]] = {INITIAL: []}
        for st in s._stages:
            exps[st.name] = []
        for e in s._expectations:
            what = f"expectation {e.src} -> {e.dst} ({e.probe})"
            for end in (e.src, e.dst):
                if end not in endpoints:
                    raise self.fail(f"{what}: unknown endpoint {end!r}; known are {', '.join(sorted(endpoints))}")
            try:
                probe = parse_probe(e.probe)
            except ValueError as err:
                raise self.fail(f"{what}: {err}") from err
            addr = self.address(what, e.address) if e.address else None
            exps[e.stage].append(Expectation(e.stage, e.src, e.dst, probe, e.reachable, e.claim, addr))
        out = [Stage(INITIAL, "", (), tuple(exps[INITIAL]))]
        for st in s._stages:
            actions = tuple(
                self.action(st.name, kind, args, net_by, lan_by, peers, uplinks, ctr_nodes) for kind, args in st.actions
            )
            out.append(Stage(st.name, st.doc, actions, tuple(exps[st.name])))
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
        s = self.s
        what = f"stage {stage!r}: {kind}({', '.join(args)})"
        if kind == "route":
            target, dst, via = args
            if target not in {*s._nodes, *s._containers, *s._peers}:
                raise self.fail(f"{what}: unknown endpoint {target!r}")
            if dst in net_by:
                sub = net_by[dst].subnet
                if sub is None:
                    raise self.fail(f"{what}: network {dst!r} has no subnet")
            else:
                try:
                    sub = IPv4Network(dst, strict=True)
                except ValueError as err:
                    raise self.fail(f"{what}: {dst!r} is neither a network nor a subnet") from err
            via_addr = self.via_address(what, target, via, peers, uplinks)
            return Route(target, sub, via_addr)
        if kind == "shim":
            node, lan = args
            if node not in s._nodes:
                raise self.fail(f"{what}: unknown node {node!r}")
            if lan not in lan_by:
                raise self.fail(f"{what}: unknown lan {lan!r}")
            return Shim(node, lan, self.shim_address(lan_by[lan], peers, uplinks))
        container, network = args[0], args[1]
        if container not in s._containers:
            raise self.fail(f"{what}: unknown container {container!r}")
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
            if n.has_addresses:
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

    def via_address(self, what: str, target: str, via: str, peers: list[Peer], uplinks: list[Uplink]) -> IPv4Address:
        if via in self.s._nodes:
            target_lans = {p.lan for p in peers if p.name == target}
            for u in uplinks:
                if u.node == via and (u.lan in target_lans or not target_lans):
                    return u.address
            raise self.fail(f"{what}: node {via!r} shares no lan with {target!r}")
        for p in peers:
            if p.name == via:
                return p.address
        return self.address(what, via)

    def shim_address(self, lan: Lan, peers: list[Peer], uplinks: list[Uplink]) -> IPv4Address:
        used = {p.address for p in peers} | {u.address for u in uplinks} | set(self._shims)
        addr = HostAllocator(lan.subnet, used).next_from_top()
        self._shims.append(addr)
        return addr
