"""The scenario builder: what scenario scripts call. It only records; `build()` validates and freezes.

s = Scenario("bridge", title="...")
net = s.network("a", driver="bridge")
c1 = s.container("c1", net)
s.expect(c1, "host", "icmp", reachable=True)
SCENARIO = s
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from netlab.model import builder
from netlab.model.declarations import (
    IFNAME_RE,
    MAX_TEXT,
    NAME_RE,
    SCENARIO_NAME_RE,
    STAGE_RE,
    Declarations,
    _CtrDecl,
    _ExpDecl,
    _MeasureDecl,
    _NetDecl,
    _StageDecl,
)
from netlab.model.errors import InvalidScenario
from netlab.model.expectations import parse_probe
from netlab.model.topology import GWBRIDGE, HOST, INITIAL, PREDEFINED, Driver, Topology

#: IFNAME_RE is re-exported: the docker backend checks --parent with it
__all__ = ["IFNAME_RE", "Endpointish", "Ref", "Scenario", "StageBuilder"]


def _text(what: str, value: Any, multiline: bool = False) -> str:
    """Free text (titles, docs, claims) is printed on terminals and in HTML: a string without control
    characters (escape sequences could rewrite the user's terminal), newlines and tabs only in docs."""
    if not isinstance(value, str):
        raise InvalidScenario(f"{what}: expected a string, got {type(value).__name__}")
    allowed = "\n\t" if multiline else ""
    bad = next((ch for ch in value if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0) and ch not in allowed), None)
    if bad is not None:
        raise InvalidScenario(f"{what}: contains the control character {bad!r}; use plain text")
    if len(value) > MAX_TEXT:
        raise InvalidScenario(f"{what}: {len(value)} characters (at most {MAX_TEXT})")
    return value


@dataclass(frozen=True, slots=True)
class Ref:
    """What the builder hands back: a kind and a name, usable wherever a name is."""

    kind: str
    name: str

    def __str__(self) -> str:
        return self.name


Endpointish = Ref | str


def _external(name: str, external: str | bool) -> str | None:
    if external is True:
        return name
    if external is False:
        return None
    if not isinstance(external, str) or not NAME_RE.match(external):
        raise InvalidScenario(f"network {name!r}: external must be True or the name of an existing Docker network")
    return external


def _name(x: Endpointish | Any) -> str:
    if isinstance(x, Ref):
        return x.name
    if isinstance(x, str):
        return x
    raise InvalidScenario(f"expected a name or an object returned by the scenario, got {x!r}")


class StageBuilder:
    """Actions and expectations of one stage, applied after the previous stage was measured."""

    def __init__(self, scenario: Scenario, decl: _StageDecl) -> None:
        self._s = scenario
        self._d = decl

    def route(self, src: Endpointish, dst_subnet: Endpointish, via: Endpointish) -> None:
        """On `src` add a route to `dst_subnet` (a subnet, a network or a lan) via `via` (an endpoint or an
        address; a router: its leg on a lan of `src`)."""
        self._d.actions.append(("route", (_name(src), _name(dst_subnet), _name(via))))

    def shim(self, node: Endpointish, lan: Endpointish) -> None:
        self._d.actions.append(("shim", (_name(node), _name(lan))))

    def forward(self, router: Endpointish) -> None:
        """From this stage on, `router` (Scenario.router) forwards between its legs (net.ipv4.ip_forward=1)."""
        self._d.actions.append(("forward", (_name(router),)))

    def connect(self, container: Endpointish, network: Endpointish, ip: str | None = None) -> None:
        self._d.actions.append(("connect", (_name(container), _name(network), ip or "")))

    def disconnect(self, container: Endpointish, network: Endpointish) -> None:
        self._d.actions.append(("disconnect", (_name(container), _name(network))))

    def docker_user(self, rule: str, node: Endpointish = HOST) -> None:
        """From this stage on, a rule of yours in `node`'s DOCKER-USER chain (see Scenario.docker_user)."""
        self._d.actions.append(("docker_user", (_name(node), _text("docker_user rule", rule))))

    def expect(
        self,
        src: Endpointish,
        dst: Endpointish,
        probe: str = "icmp",
        reachable: bool = True,
        claim: str | None = None,
        address: str | None = None,
        when: dict[str, str] | None = None,
    ) -> None:
        self._s._add_expectation(self._d.name, src, dst, probe, reachable, claim, address, when)

    def expect_matrix(self, table: str, probe: str = "icmp") -> None:
        """Expectations of this stage as a truth table (see Scenario.expect_matrix)."""
        self._s._add_matrix(table, probe, self._d.name)

    def measure(self, src: Endpointish, dst: Endpointish, probe: str = "icmp", address: str | None = None) -> None:
        """Measure a cell in this stage with no outcome expected (see Scenario.measure)."""
        self._s._add_measurement(self._d.name, src, dst, probe, address)


class Scenario:
    """Builder for scenario scripts (contract in DESIGN.md)."""

    def __init__(self, name: str, title: str = "", doc: str = "", own_subnets: bool = False) -> None:
        """`own_subnets=True`: subnets given outside netlab's pool (198.18.0.0/15) are used as written instead of
        refused (`netlab compose --keep-subnets`); a run then refuses any that a route of this machine overlaps."""
        if not isinstance(name, str) or not SCENARIO_NAME_RE.match(name):
            raise InvalidScenario(
                f"scenario name {name!r}: 1-64 characters, letters, digits, '_', '.' and '-', starting with a "
                "letter or digit"
            )
        self.name = name
        self.title = _text("scenario title", title) or name
        self.doc = _text("scenario doc", doc, multiline=True)
        self._nodes: list[str] = [HOST]
        self._lans: dict[str, str] = {}
        self._lans6: dict[str, str | None] = {}
        self._peers: dict[str, tuple[str, str | None]] = {}
        self._networks: dict[str, _NetDecl] = {}
        self._containers: dict[str, _CtrDecl] = {}
        self._expectations: list[_ExpDecl] = []
        self._measurements: list[_MeasureDecl] = []
        self._stages: list[_StageDecl] = []
        self._names: dict[str, str] = {HOST: "node"}
        self._folded: dict[str, str] = {HOST: HOST}  # lower-cased name -> name
        self._current_stage = INITIAL
        self._claims: list[tuple[str, bool]] = []
        self._initial_actions: list[tuple[str, tuple[str, ...]]] = []
        self._daemon: dict[str, str] = {}
        self._vlans: dict[str, tuple[str, int]] = {}
        self._routers: dict[str, list[str]] = {}
        if not isinstance(own_subnets, bool):
            raise InvalidScenario("own_subnets must be True or False")
        self.own_subnets = own_subnets

    # -- declarations --------------------------------------------------
    def _claim_name(self, kind: str, name: str) -> None:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidScenario(
                f"{kind} {name!r}: names are 1-63 characters, letters, digits, '_', '.' and '-', starting with "
                "a letter or digit (as Docker names containers)"
            )
        if name == GWBRIDGE:
            raise InvalidScenario(f"{kind} {name!r}: that name belongs to Docker's swarm gateway bridge")
        if name in self._names:
            raise InvalidScenario(f"{kind} {name!r}: duplicate name (already used by a {self._names[name]})")
        twin = self._folded.get(name.lower())
        if twin is not None:  # DNS does not tell them apart
            raise InvalidScenario(f"{kind} {name!r}: differs from the {self._names[twin]} {twin!r} only in case")
        if name in PREDEFINED:
            if kind == "network":
                raise InvalidScenario(
                    f"network {name!r}: that name belongs to Docker's predefined network; use it by name"
                )
            raise InvalidScenario(f"{kind} {name!r}: that name belongs to Docker's predefined network; pick another")
        self._names[name] = kind
        self._folded[name.lower()] = name

    def node(self, name: str) -> Ref:
        self._claim_name("node", name)
        self._nodes.append(name)
        return Ref("node", name)

    def lan(self, name: str, subnet: str | None = None, ipv6: bool = False, subnet6: str | None = None) -> Ref:
        """A segment the nodes (and peers) are plugged into. `ipv6=True` or `subnet6=`: dual stack, as a network's
        (the uplinks and peers on it get IPv6 addresses too, and a route to a dual-stack network over it routes
        IPv6 as well)."""
        self._claim_name("lan", name)
        self._lans[name] = subnet or ""
        if not isinstance(ipv6, bool):
            raise InvalidScenario(f"lan {name!r}: ipv6 must be True or False")
        if subnet6 is not None and not isinstance(subnet6, str):
            raise InvalidScenario(f"lan {name!r}: subnet6 must be a string like 'fd6e:6574:6c00:99::/64'")
        if ipv6 or subnet6 is not None:
            self._lans6[name] = subnet6
        return Ref("lan", name)

    def vlan(self, lan: Endpointish, vid: int, subnet: str | None = None) -> Ref:
        """VLAN `vid` of `lan`, a segment of its own carried tagged on the lan's wire (a trunk), named `<lan>.<vid>`
        as Docker names a parent's sub-interface: peers sit on it (`peer(..., vlan=50)`), macvlan/ipvlan networks
        take it as their parent (`parent="lan0.50"`). `subnet`: its own (from the pool when omitted)."""
        trunk = _name(lan)
        if isinstance(vid, bool) or not isinstance(vid, int) or not 1 <= vid <= 4094:
            raise InvalidScenario(f"vlan {vid!r} of lan {trunk!r}: a VLAN id is 1-4094")
        name = f"{trunk}.{vid}"
        if name not in self._vlans:
            self._claim_name("lan", name)
            self._vlans[name] = (trunk, vid)
            self._lans[name] = subnet or ""
        elif subnet:
            self._lans[name] = subnet
        return Ref("lan", name)

    def peer(self, name: str, lan: Endpointish, address: str | None = None, vlan: int | None = None) -> Ref:
        """An external system on `lan` (on its VLAN `vlan`, an 802.1Q sub-interface of the peer's own)."""
        self._claim_name("peer", name)
        on = _name(self.vlan(lan, vlan)) if vlan is not None else _name(lan)
        self._peers[name] = (on, address)
        return Ref("peer", name)

    def router(self, name: str, *lans: Endpointish) -> Ref:
        """A peer with a leg on each of `lans` (lans or VLANs such as `lan0.50`), each at its lan's first address:
        the gateway Docker gives a macvlan or ipvlan network on that subnet, so the network's containers route
        through it. It routes nothing until a stage turns its forwarding on (`st.forward(router)`), as a fresh
        Linux machine has IP forwarding off; peers reach the other lans through it once a stage routes them
        (`st.route(p50, "lan0.60", via=router)`)."""
        names = [_name(lan) for lan in lans]
        for lan in names:  # "lan0.50": VLAN 50 of lan0, declared here if no peer declared it
            trunk, _, vid = lan.rpartition(".")
            if lan not in self._lans and trunk in self._lans and vid.isdigit():
                self.vlan(trunk, int(vid))
        if len(names) < 2 or len(set(names)) != len(names):
            raise InvalidScenario(f"router {name!r}: give it two or more different lans (or VLANs) to route between")
        self._claim_name("peer", name)
        self._peers[name] = (names[0], None)
        self._routers[name] = names[1:]
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
        external: str | bool = False,
        ipv6: bool = False,
        subnet6: str | None = None,
    ) -> Ref:
        """`subnet` may list several subnets for macvlan/ipvlan (`docker network create --subnet A --subnet B`);
        containers pick one with `ip=`, the first is the default. `external="proxy-net"` (True: the same name as
        this network): an existing bridge network of the Docker daemon, used as it is (docker backend only).
        `ipv6=True` (Docker's `--ipv6`): dual stack, with an IPv6 /64 from netlab's pool (fd6e:6574:6c00::/48) or
        `subnet6="fd6e:6574:6c00:1234::/64"` (implies ipv6); every endpoint's IPv6 address has its IPv4 host part."""
        self._claim_name("network", name)
        what = f"network {name!r}"
        if (
            subnet is not None
            and not isinstance(subnet, str)
            and not (isinstance(subnet, Sequence) and all(isinstance(x, str) for x in subnet))
        ):
            raise InvalidScenario(f"{what}: subnet must be a string like '198.18.5.0/24' or a list of them")
        if gateway is not None and not isinstance(gateway, str):
            raise InvalidScenario(f"{what}: gateway must be an address string")
        if not isinstance(internal, bool):
            raise InvalidScenario(f"{what}: internal must be True or False")
        if not isinstance(ipv6, bool):
            raise InvalidScenario(f"{what}: ipv6 must be True or False")
        if subnet6 is not None and not isinstance(subnet6, str):
            raise InvalidScenario(f"{what}: subnet6 must be a string like 'fd6e:6574:6c00:99::/64'")
        if options is not None and not isinstance(options, Mapping):
            raise InvalidScenario(f"{what}: options must be a dict of Docker option keys to values")
        subnets = [subnet] if isinstance(subnet, str) or subnet is None else list(subnet)
        if len(subnets) > 1 and driver not in (Driver.MACVLAN, Driver.IPVLAN):
            raise InvalidScenario(f"network {name!r}: several subnets are only supported for macvlan and ipvlan")
        if not subnets:
            raise InvalidScenario(f"network {name!r}: subnet list is empty")
        if not isinstance(driver, str) or driver not in [d.value for d in Driver]:
            valid = ", ".join(d.value for d in Driver)
            raise InvalidScenario(f"network {name!r}: unknown driver {driver!r}; valid drivers are {valid}")
        opts = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in (options or {}).items()}
        parent_name = _name(parent) if parent is not None else None
        if parent_name and parent_name not in self._lans:  # Docker's notation: `eth0.50` is VLAN 50 of eth0
            trunk, dot, vid = parent_name.rpartition(".")
            if dot and vid.isdigit() and trunk in self._lans and trunk not in self._vlans:
                self.vlan(trunk, int(vid))
        self._networks[name] = _NetDecl(
            name,
            driver,
            subnets[0],
            tuple(str(x) for x in subnets[1:]),
            gateway,
            parent_name,
            opts,
            internal,
            _external(name, external),
            ipv6 or subnet6 is not None,
            subnet6,
        )
        return Ref("network", name)

    def container(
        self,
        name: str,
        *networks: Endpointish,
        node: Endpointish = HOST,
        publish: Mapping[int | str, int | str] | None = None,
        ip: str | Mapping[Any, str] | None = None,
        aliases: Mapping[Any, Sequence[str]] | None = None,  # network (name or Ref) -> names
        network_mode: Endpointish | None = None,
        links: Sequence[Endpointish] | None = None,  # "db", "db:database" or a Ref
        sysctls: Mapping[str, str | int] | None = None,
        listen: Sequence[str] | None = None,
        ip6: str | Mapping[Any, str] | None = None,
    ) -> Ref:
        """`publish={8080: 80}` (every host address), `{"127.0.0.1:8080": 80}` (one host address, Docker's
        `-p 127.0.0.1:8080:80`), `{9053: "53/udp"}`. `aliases={network: ["api", "backend"]}`: more names the
        container answers to on that network (Docker's `--network-alias`, compose's `aliases`).
        `network_mode=web` (or "container:web", "service:web"): the container joins web's network namespace
        (Docker's `--network container:web`): no networks of its own, web's addresses and resolver; declare web
        first. `links=["db:database"]` (Docker's `--link`, compose's `links`): on the user-defined networks it shares
        with db, this container (and only it) resolves `database` to db's address; declare db first.
        `sysctls={"net.ipv4.icmp_echo_ignore_all": 1}` (Docker's `--sysctl`): kernel settings of the container's
        network namespace (net.* only), set once its interfaces exist. `listen=["tcp:8081"]`: the ports its
        application listens on, on every address of its namespace, and the only ones it answers on; two
        containers in one namespace (host networking) wanting one port: the first declared holds it, the
        second cannot bind.
        `ip="198.18.5.10"`: the address on the first network;
        `ip={front: "198.18.5.10", back: "198.18.6.10"}`: fixed addresses on several networks.
        `ip6="fd6e:6574:6c00:2::10"` or `ip6={front: ...}`: a fixed IPv6 address on a dual-stack network (Docker's
        `--ip6`, compose's `ipv6_address`); without it the container's IPv6 address carries its IPv4 host part."""
        self._claim_name("container", name)
        if publish is not None and not isinstance(publish, Mapping):
            raise InvalidScenario(
                f"container {name!r}: publish must be a dict {{host port: container port}} (container port "
                "'53/udp' for UDP)"
            )
        more_ips: dict[str, str] = {}
        if isinstance(ip, Mapping):
            if not all(isinstance(v, str) for v in ip.values()):
                raise InvalidScenario(f"container {name!r}: ip must map networks to address strings")
            fixed = {_name(n): v for n, v in ip.items()}
            first = _name(networks[0]) if networks else "bridge"
            ip = fixed.pop(first, None)
            more_ips = fixed
        elif ip is not None and not isinstance(ip, str):
            raise InvalidScenario(f"container {name!r}: ip must be an address string (or a dict network -> address)")
        if aliases is not None and not (
            isinstance(aliases, Mapping)
            and all(isinstance(v, Sequence) and not isinstance(v, str) for v in aliases.values())
            and all(isinstance(a, str) for v in aliases.values() for a in v)
        ):
            raise InvalidScenario(f"container {name!r}: aliases must be a dict {{network: [name, ...]}}")
        if links is not None and (isinstance(links, str) or not isinstance(links, Sequence)):
            raise InvalidScenario(f'container {name!r}: links must be a list like ["db", "db:database"]')
        linked = []
        for link in links or ():
            target, _, alias = _name(link).partition(":")
            linked.append((target, alias or target))
        if sysctls is not None and not (
            isinstance(sysctls, Mapping)
            and all(
                isinstance(k, str) and isinstance(v, str | int) and not isinstance(v, bool) for k, v in sysctls.items()
            )
        ):
            raise InvalidScenario(f'container {name!r}: sysctls must be a dict {{"net.KEY": value}}')
        if listen is not None and (isinstance(listen, str) or not all(isinstance(x, str) for x in listen)):
            raise InvalidScenario(f'container {name!r}: listen must be a list like ["tcp:8081", "udp:53"]')
        if ip6 is not None and not (
            isinstance(ip6, str) or (isinstance(ip6, Mapping) and all(isinstance(v, str) for v in ip6.values()))
        ):
            raise InvalidScenario(f"container {name!r}: ip6 must be an address string (or a dict network -> address)")
        first_net = _name(networks[0]) if networks else "bridge"
        fixed6 = {first_net: ip6} if isinstance(ip6, str) else {_name(n): v for n, v in (ip6 or {}).items()}
        joins = None
        if network_mode is not None:
            joins = _name(network_mode)
            for prefix in ("container:", "service:"):
                joins = joins.removeprefix(prefix)
        self._containers[name] = _CtrDecl(
            name,
            [_name(n) for n in networks] or ([] if joins else ["bridge"]),
            _name(node),
            dict(publish or {}),
            ip,
            {_name(n): list(v) for n, v in (aliases or {}).items()},
            joins,
            more_ips,
            linked,
            {k: str(v) for k, v in (sysctls or {}).items()},
            list(listen or []),
            fixed6,
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
        when: dict[str, str] | None = None,
    ) -> None:
        """`when`: the host/engine facts under which this outcome holds, e.g. {"forward_policy": "DROP"}
        (netlab/model/conditions.py); without it the expectation holds on every host."""
        self._add_expectation(INITIAL, src, dst, probe, reachable, claim, address, when)

    def measure(self, src: Endpointish, dst: Endpointish, probe: str = "icmp", address: str | None = None) -> None:
        """Measure and report a cell of the first stage without saying what it should be (the icmp matrix of
        every pair is always measured; this adds tcp, udp and dns cells). It never makes a run fail."""
        self._add_measurement(INITIAL, src, dst, probe, address)

    def _add_measurement(self, stage: str, src: Endpointish, dst: Endpointish, probe: str, address: str | None) -> None:
        if not isinstance(probe, str):
            raise InvalidScenario(f"measurement {src}->{dst}: probe must be a string like 'icmp' or 'tcp:80'")
        self._measurements.append(_MeasureDecl(stage, _name(src), _name(dst), probe, address))

    def expect_matrix(self, table: str, probe: str = "icmp") -> None:
        """Expectations of the first stage as a truth table: a header line of destination names, then one
        row per source; cells `.` reachable, `X` unreachable, `-` not checked (netlab/model/matrixfile.py).
        `probe:` lines inside the text switch the probe for the tables that follow."""
        self._add_matrix(table, probe, INITIAL)

    def _add_matrix(self, table: str, probe: str, stage: str) -> None:
        from netlab.model import matrixfile

        if not isinstance(table, str):
            raise InvalidScenario("expect_matrix: the table must be a string")
        try:
            parse_probe(probe)
            cells = matrixfile.parse_table(table, f"{self.name} expect_matrix", probe=probe.lower())
        except ValueError as e:
            raise InvalidScenario(f"expect_matrix: {e}") from e
        except matrixfile.MatrixError as e:
            raise InvalidScenario(str(e)) from e
        for c in cells:
            if c.stage is not None and c.stage != stage:
                raise InvalidScenario(
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
        when: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(reachable, bool):
            raise InvalidScenario(f"expectation {src}->{dst}: reachable must be True or False")
        if not isinstance(probe, str):
            raise InvalidScenario(f"expectation {src}->{dst}: probe must be a string like 'icmp' or 'tcp:80'")
        if claim is not None:
            _text(f"expectation {src}->{dst}: claim", claim)
        if when is not None:
            when = dict(when) if isinstance(when, dict) else when  # a copy: the script may reuse its dict
        self._expectations.append(_ExpDecl(stage, _name(src), _name(dst), probe, reachable, claim, address, when))

    def daemon(
        self,
        icc: bool | None = None,
        ip: str | None = None,
        userland_proxy: bool | None = None,
        ip6tables: bool | None = None,
    ) -> None:
        """Options of the Docker daemon every node runs, those that change what is reachable (dockerd's
        `--icc`, `--ip`, `--userland-proxy`, `--ip6tables`): `icc=False` closes the default bridge between its
        containers (user networks keep theirs), `ip="127.0.0.1"` is the host address ports are published on when
        a publish names none, `userland_proxy=False` replaces docker-proxy with hairpin NAT, `ip6tables=True`
        makes Docker before 27 write IPv6 rules (with `--experimental`, which 20.10 requires for it) and
        `ip6tables=False` stops 27 and later from writing them. The netns backend emulates them; the docker
        backend starts daemons of its own with them (netlab never restarts yours)."""
        for key, value in (("icc", icc), ("userland-proxy", userland_proxy), ("ip6tables", ip6tables)):
            if value is not None:
                if not isinstance(value, bool):
                    raise InvalidScenario(f"daemon({key.replace('-', '_')}=...): True or False")
                self._daemon[key] = str(value).lower()
        if ip is not None:
            self._daemon["ip"] = _text("daemon ip", ip)

    def docker_user(self, rule: str, node: Endpointish = HOST) -> None:
        """A rule of yours in `node`'s DOCKER-USER chain, the chain Docker leaves to its users and evaluates
        before its own for every forwarded packet: `rule` is iptables syntax after the chain's name, for instance
        `s.docker_user("-s {front} -d {back} -j DROP")`. `{name}` stands for a network's or lan's subnet; the
        matches are -s, -d (each inside the scenario's subnets, at least one given), -p tcp|udp|icmp, --dport,
        --sport, and -j ACCEPT|DROP|REJECT|RETURN. Real on the docker backend (inserted with the run's comment,
        removed with the run), emulated on netns; Docker's nftables backend (29) has no DOCKER-USER chain."""
        self._initial_actions.append(("docker_user", (_name(node), _text("docker_user rule", rule))))

    def claim(self, claim_id: str, holds: bool = True) -> None:
        """Check one of the lecture's claims (netlab/model/claims.py) on this run's evidence; `holds=False`
        where the scenario shows the lecture wrong (the run passes when the claim fails as expected)."""
        from netlab.model.claims import BY_ID

        if claim_id not in BY_ID:
            raise InvalidScenario(f"claim {claim_id!r}: unknown; the lecture's claims are {', '.join(BY_ID)}")
        if not isinstance(holds, bool):
            raise InvalidScenario(f"claim {claim_id!r}: holds must be True or False")
        self._claims.append((claim_id, holds))

    @contextmanager
    def stage(self, name: str, doc: str = "") -> Iterator[StageBuilder]:
        if not isinstance(name, str) or not STAGE_RE.match(name):
            raise InvalidScenario(
                f"stage {name!r}: stage names are 1-32 characters, lower-case letters, digits, '_' and '-', "
                "starting with a letter"
            )
        _text(f"stage {name!r}: doc", doc)
        if name == INITIAL or any(st.name == name for st in self._stages):
            raise InvalidScenario(f"stage {name!r}: duplicate stage name")
        decl = _StageDecl(name, doc)
        self._stages.append(decl)
        yield StageBuilder(self, decl)

    # -- validation and freezing ----------------------------------------
    def build(self, subnet_offset: int = 0) -> Topology:
        """Validate and freeze. `subnet_offset`: where in the pool (in /24s) the subnets netlab picks itself
        start; concurrent runs get different offsets from their leases (netlab/lease.py)."""
        return builder.build(
            Declarations(
                self.name,
                self.title,
                self.doc,
                self._nodes,
                self._lans,
                self._peers,
                self._networks,
                self._containers,
                self._expectations,
                self._stages,
                self._claims,
                self._measurements,
                self.own_subnets,
                self._vlans,
                self._daemon,
                self._initial_actions,
                self._routers,
                self._lans6,
            ),
            subnet_offset,
        )
