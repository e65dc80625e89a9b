"""What a scenario script records (netlab/model/scenario.py) and the builder validates (netlab/model/builder.py):
the declarations as written, and the rules their names and options follow."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netlab.model.topology import Driver

#: endpoint, network and lan names as Docker and compose take them (container and service names: a letter or
#: digit, then letters, digits, '_', '.', '-'); names netlab gives its own objects start with '_' instead
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
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
    "com.docker.network.bridge.host_binding_ipv4": (Driver.BRIDGE,),
    "com.docker.network.driver.mtu": (Driver.BRIDGE,),
    "macvlan_mode": (Driver.MACVLAN,),
    "ipvlan_mode": (Driver.IPVLAN,),
}


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
    external: str | None = None  # the existing Docker network it stands for
    ipv6: bool = False
    subnet6: str | None = None  # its IPv6 subnet (inside addressing.POOL6); None with ipv6: the pool's


@dataclass(slots=True)
class _CtrDecl:
    name: str
    networks: list[str]
    node: str
    publish: dict[int | str, int | str]  # host port or "ADDRESS:PORT" -> container port, or "PORT/udp" / "PORT/tcp"
    ip: str | None
    aliases: dict[str, list[str]] = field(default_factory=dict)  # network -> more DNS names there
    joins: str | None = None  # the container whose network namespace it joins
    more_ips: dict[str, str] = field(default_factory=dict)  # network after the first -> its fixed address
    links: list[tuple[str, str]] = field(default_factory=list)  # (container, alias): Docker's `--link NAME:ALIAS`
    sysctls: dict[str, str] = field(default_factory=dict)  # net.* kernel settings of its namespace
    listen: list[str] = field(default_factory=list)  # "tcp:8081", "udp:53": its application's own sockets
    ip6: dict[str, str] = field(default_factory=dict)  # network -> its fixed IPv6 address (Docker's --ip6)


@dataclass(slots=True)
class _ExpDecl:
    stage: str
    src: str
    dst: str
    probe: str
    reachable: bool
    claim: str | None
    address: str | None
    when: dict[str, str] | None = None


@dataclass(slots=True)
class _MeasureDecl:
    stage: str
    src: str
    dst: str
    probe: str
    address: str | None


@dataclass(slots=True)
class _StageDecl:
    name: str
    doc: str
    actions: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Declarations:
    """Everything a Scenario recorded, as the builder reads it (in declaration order)."""

    name: str
    title: str
    doc: str
    nodes: list[str]
    lans: dict[str, str]  # name -> subnet ("" when netlab picks it); VLANs too, named <trunk>.<vid>
    peers: dict[str, tuple[str, str | None]]  # name -> (lan, address)
    networks: dict[str, _NetDecl]
    containers: dict[str, _CtrDecl]
    expectations: list[_ExpDecl]
    stages: list[_StageDecl]
    claims: list[tuple[str, bool]]
    measurements: list[_MeasureDecl] = field(default_factory=list)
    own_subnets: bool = False  # subnets as written, outside netlab's pool (`netlab compose --keep-subnets`)
    #: VLANs: name (<trunk>.<vid>) -> (trunk lan, VLAN id)
    vlans: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: the Docker daemon's options the scenario asks for (Scenario.daemon): dockerd's own names -> text
    daemon: dict[str, str] = field(default_factory=dict)
    #: actions in force from the start (only `docker_user` rules: everything else is deployed as declared)
    initial_actions: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    #: routers: peer name -> the lans of its further legs (its first is its peer entry's)
    routers: dict[str, list[str]] = field(default_factory=dict)
    #: dual-stack lans: name -> their IPv6 subnet as declared (None: the pool's)
    lans6: dict[str, str | None] = field(default_factory=dict)
