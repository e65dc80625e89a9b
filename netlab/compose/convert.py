"""A compose file's network topology as a netlab Scenario: its networks (bridge; macvlan and ipvlan on a lan named
as their parent), its services as containers on them, the
ports they publish, and what to measure (every ICMP pair, every published or exposed port from every other
endpoint, every service name from every container). Subnets outside netlab's pool are moved into it.

What a first version does not do yet is refused with exit 2 and the key that asks for it (never ignored where
it would change a cell); keys with no effect on the network are listed once as ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any

from netlab.compose import read
from netlab.errors import ScenarioError
from netlab.model.addressing import POOL, POOL6, subnet6_for
from netlab.model.errors import InvalidScenario
from netlab.model.scenario import Scenario

#: where moved subnets go: the top half of the block netlab picks scenario subnets from bottom-up
MOVED_BLOCK = IPv4Network("198.18.128.0/17")
#: service keys that change nothing on the network
INERT = {
    "build", "image", "volumes", "environment", "env_file", "depends_on", "command", "entrypoint", "restart",
    "labels", "healthcheck", "deploy", "logging", "working_dir", "user", "tty", "stdin_open", "secrets",
    "configs", "ulimits", "cap_add", "cap_drop", "privileged", "init", "stop_signal", "stop_grace_period",
    "profiles", "platform", "pull_policy", "volumes_from", "tmpfs", "shm_size", "read_only", "security_opt",
    "devices", "mem_limit", "cpus", "x-netlab", "hostname", "domainname", "links", "extra_hosts", "dns",
    "dns_search", "dns_opt", "container_name", "expose", "ports", "networks", "network_mode", "sysctls",
}  # fmt: skip
JOINS = ("service:", "container:")
#: keys that change what a container resolves but no cell netlab measures: netlab's DNS probes ask the container's
#: resolver for the names of the file's own containers (Docker's embedded DNS answers those itself), never
#: /etc/hosts nor an upstream server
RESOLVER_KEYS = {"dns", "dns_search", "dns_opt", "extra_hosts"}
NETWORK_KEYS = {"driver", "driver_opts", "ipam", "internal", "attachable", "name", "external", "labels", "enable_ipv6"}
DRIVER_OPTIONS = {
    "bridge": {
        "com.docker.network.bridge.enable_icc",
        "com.docker.network.bridge.enable_ip_masquerade",
        "com.docker.network.bridge.name",
        "com.docker.network.bridge.host_binding_ipv4",
        "com.docker.network.driver.mtu",
    },
    "macvlan": {"parent", "macvlan_mode"},
    "ipvlan": {"parent", "ipvlan_mode"},
    "overlay": set(),
}
#: the lan an overlay network's VXLAN runs on: swarm mode needs one, a compose file names none
UNDERLAY = "underlay"


@dataclass(slots=True)
class Imported:
    scenario: Scenario
    project: str
    #: what the user should know: subnets moved, keys ignored
    notes: list[str] = field(default_factory=list)


def load(
    path: str | Path,
    project: str | None = None,
    environ: Mapping[str, str] | None = None,
    keep_subnets: bool = False,
) -> Imported:
    """`keep_subnets`: the file's subnets as written (else those outside netlab's pool are moved into it)."""
    data, env = read.load(path, environ)
    name = read.project_name(path, data, env, project)
    try:
        imported = _Converter(str(path), name, data, keep_subnets).convert()
        imported.scenario.build()  # every check of a scenario, reported against the file
        return imported
    except InvalidScenario as e:
        raise ScenarioError(f"{path}: {e}") from e


class _Converter:
    def __init__(self, path: str, project: str, data: dict[str, Any], keep_subnets: bool = False) -> None:
        self.path, self.project, self.data = path, project, data
        self.keep_subnets = keep_subnets
        self.notes: list[str] = []
        self._ports: tuple[range, set[tuple[str, int]]] | None = None  # the machine's, read at the first pick
        self.published: dict[str, dict[int | str, int | str]] = {}  # service -> its publish (host -> container)
        title = f"compose project {project} ({Path(path).name})"
        self.s = Scenario(project, title=title, own_subnets=keep_subnets)
        self.moved: dict[IPv4Network, IPv4Network] = {}
        self.aliases: dict[str, list[str]] = {}  # service -> its network aliases
        self.link_aliases: dict[str, set[str]] = {}  # service -> the aliases other services link to it by
        self.lans: set[str] = set()  # the parents of macvlan/ipvlan networks, built as lans
        self.dual_stack: set[str] = set()  # the networks with enable_ipv6
        #: a dual-stack network's IPv6 subnet in the file -> where it is in the run (the same where it is kept)
        self.subnets6: dict[str, tuple[IPv6Network, IPv6Network]] = {}
        self.unplaced6: set[str] = set()  # an IPv6 subnet moved to the pool, no IPv4 subnet to place it by

    def fail(self, where: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {where}: {message}")

    def convert(self) -> Imported:
        services: dict[str, Any] = self.data["services"]
        networks = self.data.get("networks") or {}
        if not isinstance(networks, dict):
            raise self.fail("networks", "must be a map of network names")
        for kind, items in (("services", services), ("networks", networks)):
            for key, value in items.items():
                if value is not None and not isinstance(value, dict):
                    raise self.fail(f"{kind}.{key}", f"must be a map, not {type(value).__name__}")
        uses_default = any(
            not (svc or {}).get("networks") and not (svc or {}).get("network_mode") for svc in services.values()
        )
        if uses_default and "default" not in networks:
            networks = {"default": {}, **networks}
        used = {
            n
            for svc in services.values()
            for n in (_service_networks(svc or {}) if not (svc or {}).get("network_mode") else {})
        }
        for net_name, spec in networks.items():
            if net_name in used or (net_name == "default" and uses_default):
                self.network(str(net_name), spec or {})
        ignored: set[str] = set()
        for svc_name in self.start_order(services):
            self.service(str(svc_name), services[svc_name] or {}, set(networks), ignored)
        resolving = ignored & RESOLVER_KEYS
        if ignored - RESOLVER_KEYS:
            self.notes.append("ignored (no effect on the network): " + ", ".join(sorted(ignored - RESOLVER_KEYS)))
        if resolving:
            self.notes.append(
                "ignored: "
                + ", ".join(sorted(resolving))
                + " (names outside the file: netlab only asks for the file's own containers, which Docker's "
                "embedded DNS answers itself, and every container's upstream is netlab's own resolver)"
            )
        self.probes(services)
        return Imported(self.s, self.project, self.notes)

    def start_order(self, services: dict[str, Any]) -> list[str]:
        """The services in the order compose starts them: a service after the one it joins (network_mode service:X;
        loops there are the builder's to refuse) and after those it links to, the file's order otherwise."""
        joining = [n for n, svc in services.items() if str((svc or {}).get("network_mode", "")).startswith(JOINS)]
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order:
                return
            if name in visiting:
                raise self.fail(f"services.{name}.links", "the links form a cycle: compose cannot start these services")
            visiting.add(name)
            for target, _ in self.links_of(name, services[name] or {}, services):
                visit(target)
            visiting.discard(name)
            order.append(name)

        for name in [n for n in services if n not in joining] + joining:
            visit(str(name))
        return order

    def links_of(self, name: str, svc: dict[str, Any], services: dict[str, Any]) -> list[tuple[str, str]]:
        """`links: ["db", "db:database"]` as (service, alias) pairs."""
        where = f"services.{name}.links"
        links = svc.get("links") or []
        if not isinstance(links, list):
            raise self.fail(where, 'must be a list like [db, "db:database"]')
        out = []
        for link in links:
            target, _, alias = str(link).partition(":")
            if target not in services:
                raise self.fail(where, f"{link!r}: no service {target!r} in this file")
            if target == name:
                raise self.fail(where, f"{link!r}: a service cannot link to itself")
            out.append((target, alias or target))
        return out

    # -- networks ------------------------------------------------------------
    def network(self, name: str, spec: dict[str, Any]) -> None:
        where = f"networks.{name}"
        unknown = set(spec) - NETWORK_KEYS
        if unknown:
            raise self.fail(
                where, f"unknown key {sorted(unknown)[0]!r}; compose knows {', '.join(sorted(NETWORK_KEYS))}"
            )
        external = spec.get("external")
        if external:
            # compose: `external: true` (named `name:`, else the key) or the older `external: {name: X}`
            named = external.get("name") if isinstance(external, dict) else None
            others = set(spec) - {"external", "name"}
            if others:
                raise self.fail(where, f"an external network is used as it is: {sorted(others)[0]!r} has no place here")
            self.s.network(name, "bridge", external=str(named or spec.get("name") or name))
            self.notes.append(f"{where}: external network {named or spec.get('name') or name!r}, used as it is")
            return
        driver = str(spec.get("driver") or "bridge")
        if driver not in DRIVER_OPTIONS:
            raise self.fail(
                where,
                f"driver {driver!r} is not supported by `netlab compose` yet (bridge, macvlan, ipvlan and overlay are)",
            )
        opts = {str(k): _option(v) for k, v in (spec.get("driver_opts") or {}).items()}
        unsupported = set(opts) - DRIVER_OPTIONS[driver]
        if unsupported:
            raise self.fail(where, f"driver_opts {sorted(unsupported)[0]!r} is not supported for {driver} yet")
        subnets, gateway = [], None
        configs = (spec.get("ipam") or {}).get("config") or []
        six = [c for c in configs if ":" in str((c or {}).get("subnet") or "")]
        configs = [c for c in configs if c not in six]
        ipv6, subnet6 = self.ipv6(where, driver, bool(spec.get("enable_ipv6")), six)
        if ipv6:
            self.dual_stack.add(name)
        if len(configs) > 1 and driver in ("bridge", "overlay"):
            raise self.fail(f"{where}.ipam.config", f"several subnets on a {driver} network are not supported")
        for i, cfg in enumerate(configs):
            cfg = cfg or {}
            if cfg.get("ip_range"):
                self.notes.append(f"{where}: ip_range ignored (netlab numbers containers from the subnet's start)")
            if cfg.get("subnet"):
                subnets.append(str(self.subnet(where, str(cfg["subnet"]))))
            if cfg.get("gateway") and i == 0:
                gateway = str(self.address(where, str(cfg["gateway"])))
            elif cfg.get("gateway") and (
                not cfg.get("subnet") or self.address(where, str(cfg["gateway"])) != _first_host(subnets[-1])
            ):
                raise self.fail(
                    f"{where}.ipam.config[{i}].gateway",
                    "a gateway other than the subnet's first address is supported on the first subnet only",
                )
        written = ip_network(str(six[0]["subnet"])) if ipv6 and six else None
        if isinstance(written, IPv6Network) and subnet6 is not None:
            self.subnets6[name] = (written, written)
        elif isinstance(written, IPv6Network) and subnets:  # moved: the /64 that goes with its IPv4 subnet
            first = ip_network(subnets[0])
            if isinstance(first, IPv4Network):
                self.subnets6[name] = (written, subnet6_for(first))
        elif isinstance(written, IPv6Network):
            self.unplaced6.add(name)
        parent = None
        if driver in ("macvlan", "ipvlan"):
            lan6 = (subnet6 or "") if ipv6 else None  # a dual-stack child network lives on a dual-stack lan
            parent = self.parent(where, driver, opts.pop("parent", None), subnets[0] if subnets else None, lan6)
            subnet6 = None  # the lan's
        if driver == "overlay" and UNDERLAY not in self.lans:
            # overlay networks are swarm mode's: a swarm of one node whose VXLAN runs on a lan of the run's own
            self.s.lan(UNDERLAY)
            self.lans.add(UNDERLAY)
            self.notes.append(
                f"{where}: overlay networks need swarm mode: netlab runs a swarm of one node, its VXLAN on a lan of "
                f"its own ({UNDERLAY}); containers reach the outside through docker_gwbridge"
            )
        self.s.network(
            name,
            driver,
            subnet=(subnets if len(subnets) > 1 else (subnets[0] if subnets else None)),
            gateway=gateway,
            parent=parent,
            options=opts,
            internal=bool(spec.get("internal")),
            ipv6=ipv6,
            subnet6=subnet6,
        )

    def ipv6(self, where: str, driver: str, enabled: bool, configs: list[Any]) -> tuple[bool, str | None]:
        """`enable_ipv6` and the IPv6 subnet of `ipam.config`: a dual-stack network, its subnet as written when it
        lies in netlab's IPv6 pool (or with --keep-subnets), else the pool's /64 that goes with its IPv4 subnet
        (a service's `ipv6_address` moves with it, its host part kept: `address6`)."""
        if not enabled:
            if configs:
                self.notes.append(f"{where}: an IPv6 subnet without enable_ipv6: Docker gives the network no IPv6")
            return False, None
        if driver == "overlay":
            raise self.fail(
                f"{where}.enable_ipv6",
                "IPv6 on an overlay network is not supported yet: Docker's swarm does not support it "
                "(docs/drivers.md, Overlay)",
            )
        if len(configs) > 1:
            raise self.fail(f"{where}.ipam.config", "several IPv6 subnets on one network are not supported")
        if not configs:
            return True, None
        text = str(configs[0]["subnet"])
        try:
            net = ip_network(text, strict=True)
        except ValueError as e:
            raise self.fail(f"{where}.ipam.config.subnet", f"{text!r} is not a subnet ({e})") from e
        if (configs[0] or {}).get("gateway"):
            self.notes.append(f"{where}: IPv6 gateway ignored (netlab's is the subnet's ::1, Docker's default)")
        if isinstance(net, IPv6Network) and (net.subnet_of(POOL6) or self.keep_subnets):
            return True, str(net)
        self.notes.append(f"{where}: IPv6 subnet {net} moved to netlab's IPv6 pool (the /64 of its IPv4 subnet)")
        return True, None

    def parent(
        self, where: str, driver: str, parent: Any, subnet: str | None, subnet6: str | None = None
    ) -> str | None:
        """The lan standing in for a macvlan/ipvlan parent: netlab builds it (namespaces, a veth of the run), named as
        the file names the parent, on the network's (first) subnet as a parent's LAN is; the machine's own interface
        of that name is never used. None without a parent: Docker's dummy link (its containers reach each other
        only). `subnet6`: the network is dual-stack, so is the lan ('' for the pool's subnet)."""
        if parent is None:
            self.notes.append(
                f"{where}: no parent: Docker makes a dummy link the parent (the containers reach each other only)"
            )
            return None
        lan = str(parent)
        if "." in lan:  # eth0.50: Docker makes the 802.1Q sub-interface for VLAN 50 of eth0 when it does not exist
            trunk, _, vid = lan.rpartition(".")
            if not vid.isdigit() or not 1 <= int(vid) <= 4094 or not trunk:
                raise self.fail(f"{where}.driver_opts.parent", f"{lan!r}: a VLAN parent is INTERFACE.VID, VID 1-4094")
            if trunk not in self.lans:
                self.s.lan(trunk)
                self.lans.add(trunk)
                self.notes.append(
                    f"{where}: parent {lan} is VLAN {vid} of a trunk lan {trunk} netlab builds for the run (the "
                    f"machine's own {trunk} is never used)"
                )
            self.s.vlan(trunk, int(vid), subnet)
            return lan
        if lan not in self.lans:
            self.s.lan(lan, subnet=subnet, ipv6=subnet6 is not None, subnet6=subnet6 or None)
            self.lans.add(lan)
            self.notes.append(
                f"{where}: parent {lan} is a lan netlab builds for the run (the machine's own {lan} is never used)"
            )
        return lan

    def subnet(self, where: str, text: str) -> IPv4Network:
        try:
            net = ip_network(text, strict=True)
        except ValueError as e:
            raise self.fail(f"{where}.ipam.config.subnet", f"{text!r} is not a subnet ({e})") from e
        if not isinstance(net, IPv4Network):
            raise self.fail(f"{where}.ipam.config.subnet", "only IPv4 subnets are supported")
        if net.subnet_of(POOL):
            return net
        if self.keep_subnets:
            self.notes.append(f"{where}: subnet {net} used as written (--keep-subnets)")
            return net
        if net.prefixlen < MOVED_BLOCK.prefixlen:
            raise self.fail(
                f"{where}.ipam.config.subnet",
                f"{net} is larger than the /{MOVED_BLOCK.prefixlen} netlab can move it into; use a smaller prefix",
            )
        taken = list(self.moved.values())
        for cand in MOVED_BLOCK.subnets(new_prefix=net.prefixlen):
            if not any(cand.overlaps(t) for t in taken):
                self.moved[net] = cand
                self.notes.append(f"{where}: subnet {net} moved to {cand} (netlab's pool; host parts kept)")
                return cand
        raise self.fail(f"{where}.ipam.config.subnet", f"no room left in {MOVED_BLOCK} for {net}")

    def address(self, where: str, text: str) -> IPv4Address:
        """An address of the file, moved with its subnet (the host part kept)."""
        try:
            addr = IPv4Address(text)
        except ValueError as e:
            raise self.fail(where, f"{text!r} is not an IPv4 address") from e
        for old, new in self.moved.items():
            if addr in old:
                return new.network_address + (int(addr) - int(old.network_address))
        return addr

    def address6(self, where: str, network: str, text: str) -> IPv6Address | None:
        """A service's `ipv6_address`, moved with its network's IPv6 subnet (the host part kept); None, with a
        note, where the run cannot give it (no IPv6 subnet in the file, or moved to one too small for it)."""
        try:
            addr = ip_address(text)
        except ValueError as e:
            raise self.fail(f"{where}.ipv6_address", f"{text!r} is not an IPv6 address") from e
        if not isinstance(addr, IPv6Address):
            raise self.fail(f"{where}.ipv6_address", f"{text!r} is not an IPv6 address")
        if network not in self.subnets6:
            why = (
                "its IPv6 subnet moves to the pool's /64 of an IPv4 subnet netlab picks (give the network an IPv4 "
                "subnet in the file to keep the address)"
                if network in self.unplaced6
                else "the network has no IPv6 subnet of its own in the file"
            )
            self.notes.append(
                f"{where}: ipv6_address ignored: {why}; netlab gives the container the IPv6 address with its IPv4 "
                "host part"
            )
            return None
        old, new = self.subnets6[network]
        if addr not in old:
            raise self.fail(f"{where}.ipv6_address", f"{addr} is not in the network's IPv6 subnet {old}")
        host = int(addr) - int(old.network_address)
        if host >= new.num_addresses:
            self.notes.append(
                f"{where}: ipv6_address {addr} ignored: its host part does not fit {new}, where {old} moved"
            )
            return None
        return new.network_address + host

    # -- services ------------------------------------------------------------
    def service(self, name: str, svc: dict[str, Any], networks: set[str], ignored: set[str]) -> None:
        where = f"services.{name}"
        if not isinstance(svc, dict):
            raise self.fail(where, "must be a map")
        for key in svc:
            if key not in INERT:
                raise self.fail(f"{where}.{key}", "unknown service key")
            if key not in ("expose", "ports", "networks", "network_mode", "container_name", "links", "sysctls"):
                ignored.add(key)
        mode = svc.get("network_mode")
        joins = None
        attached: list[str]
        aliases: dict[str, list[str]]
        if mode is not None and str(mode).startswith(JOINS):
            joins = self.joined(f"{where}.network_mode", str(mode), name)
            attached, aliases = [], {}
            ip: dict[str, str] | None = None
            ip6: dict[str, str] = {}
        elif mode is not None:
            if mode not in ("host", "none", "bridge"):
                raise self.fail(
                    f"{where}.network_mode", f"{mode!r}: compose knows host, none, bridge, service:NAME, container:NAME"
                )
            attached, ip, aliases = [str(mode)], None, {}
            ip6 = {}
        else:
            wanted = _service_networks(svc) or {"default": {}}
            for n in wanted:
                if n not in networks:
                    raise self.fail(f"{where}.networks", f"network {n!r} is not declared under the top-level networks")
            aliases = {n: [str(a) for a in (opts or {}).get("aliases") or []] for n, opts in wanted.items()}
            attached = list(wanted)
            fixed = {
                n: str(self.address(f"{where}.networks.{n}", str(opts["ipv4_address"])))
                for n, opts in wanted.items()
                if (opts or {}).get("ipv4_address")
            }
            ip = fixed or None
            ip6 = {
                n: str(six)
                for n, opts in wanted.items()
                if (opts or {}).get("ipv6_address")
                and (six := self.address6(f"{where}.networks.{n}", n, str(opts["ipv6_address"]))) is not None
            }
        publish: dict[int | str, int | str] = {}
        for i, spec in enumerate(svc.get("ports") or []):
            for bind, port, target in _ports(f"{where}.ports[{i}]", spec, self.fail):
                if port is None:
                    port = self.pick_port(f"{where}.ports[{i}]", "udp" if str(target).endswith("/udp") else "tcp")
                host: int | str = f"{bind}:{port}" if bind else port
                if host in publish:
                    raise self.fail(f"{where}.ports[{i}]", f"host port {host} is published twice")
                publish[host] = target
        if svc.get("container_name") and mode is None:
            # Docker resolves a container's name on every network it joins; netlab names the container after
            # the service, so the name compose gives it is one more name on each of its networks
            for n in attached:
                aliases.setdefault(n, []).append(str(svc["container_name"]))
        self.published[name] = publish
        named = {n: a for n, a in aliases.items() if a}
        self.aliases[name] = sorted({a for names in named.values() for a in names})
        links = self.links_of(name, svc, self.data["services"])
        for target, alias in links:
            if alias != target:
                self.link_aliases.setdefault(target, set()).add(alias)
        self.s.container(
            name,
            *attached,
            publish=publish or None,
            ip=ip,
            ip6=ip6 or None,
            aliases=named,
            network_mode=joins,
            links=[f"{target}:{alias}" for target, alias in links] or None,
            sysctls=self.sysctls(f"{where}.sysctls", svc.get("sysctls")) or None,
        )

    def sysctls(self, where: str, spec: Any) -> dict[str, str]:
        """`sysctls:` as a map or a list of KEY=VALUE: the net.* keys (the container's network namespace); the other
        namespaced keys (kernel.shm*, fs.mqueue.*) change nothing on the network and are noted as ignored."""
        if spec is None:
            return {}
        if isinstance(spec, list):
            pairs = [str(item).partition("=")[::2] for item in spec]
        elif isinstance(spec, dict):
            pairs = [(str(k), v) for k, v in spec.items()]
        else:
            raise self.fail(where, "must be a map or a list of KEY=VALUE")
        out = {key: _option(value) for key, value in pairs if key.startswith("net.")}
        others = sorted(key for key, _ in pairs if not key.startswith("net."))
        if others:
            self.notes.append(f"{where}: ignored {', '.join(others)} (no effect on the network)")
        return out

    def pick_port(self, where: str, proto: str) -> int:
        """A host port for a `ports:` entry that names none: Docker picks one of the machine's ephemeral range;
        netlab picks the lowest one that is free on the machine and in the file, and publishes it explicitly, so
        both backends and the probes use the same port (the note says which)."""
        if self._ports is None:
            self._ports = _machine_ports()
            for svc in self.data["services"].values():
                for i, spec in enumerate((svc or {}).get("ports") or []):
                    for _, port, target in _ports(f"ports[{i}]", spec, self.fail):
                        if port is not None:
                            self._ports[1].add(("udp" if str(target).endswith("/udp") else "tcp", port))
        span, taken = self._ports
        port = next((p for p in span if (proto, p) not in taken), None)
        if port is None:
            raise self.fail(
                where, f"no free {proto} port left in the machine's ephemeral range {span.start}-{span.stop - 1}"
            )
        taken.add((proto, port))
        self.notes.append(
            f"{where}: Docker picks the host port; netlab publishes {port}/{proto} (free on this machine)"
        )
        return port

    def networks_of(self, service: str) -> list[str]:
        """The networks a service's namespace is on (those of the service it joins, for `service:X`)."""
        svc = self.data["services"][service] or {}
        mode = str(svc.get("network_mode") or "")
        if mode.startswith(JOINS):
            return self.networks_of(self.joined(f"services.{service}.network_mode", mode, service))
        if mode:
            return [mode]
        return list(_service_networks(svc) or {"default": {}})

    def joined(self, where: str, mode: str, me: str) -> str:
        """The service whose namespace `service:X` or `container:X` names (X: a service, or a container_name); it
        must have a namespace of its own (not the asking service's, nor one it shares itself)."""
        found = self._joined(where, mode)
        other = str((self.data["services"][found] or {}).get("network_mode") or "")
        if found == me:
            raise self.fail(where, f"{mode!r}: a service cannot join its own namespace")
        if other.startswith(JOINS):
            raise self.fail(where, f"{mode!r}: {found!r} itself joins {other!r}; join that service instead")
        return found

    def _joined(self, where: str, mode: str) -> str:
        kind, _, target = mode.partition(":")
        services: dict[str, Any] = self.data["services"]
        if kind == "service" and target in services:
            return target
        if kind == "container":
            named = [n for n, svc in services.items() if (svc or {}).get("container_name") == target]
            if named:
                return str(named[0])
            raise self.fail(
                where,
                f"container {target!r} is not a container_name of this file; netlab compose builds every container "
                "itself (name a service with service:NAME)",
            )
        raise self.fail(where, f"{mode!r}: no service {target!r} in this file")

    # -- what to measure ----------------------------------------------------------
    def probes(self, services: dict[str, Any]) -> None:
        names = [str(n) for n in services]
        on_host: set[str] = set()  # the published ports, as the containers reach them: at this machine's address
        for dst, svc in services.items():
            ports = set(_exposed(svc or {}))
            for host, target in self.published.get(str(dst), {}).items():
                port, _, proto = str(target).partition("/")
                ports.add(f"{proto or 'tcp'}:{port}")
                on_host.add(f"{proto or 'tcp'}:{str(host).rpartition(':')[2]}")
            for probe in sorted(ports):
                for src in ["host", *names]:
                    if src != dst:
                        self.s.measure(src, str(dst), probe)
        sources = [n for n in names if (services[n] or {}).get("network_mode") not in ("host", "none")]
        # a container on several networks reaches this machine at several addresses, each with its own answer:
        # only containers on one network are asked (the host's address there is unambiguous)
        for probe in sorted(on_host):
            for src in sources:
                if len(self.networks_of(src)) == 1:
                    self.s.measure(src, "host", probe)
        for src in sources:
            for dst in names:
                if dst != src:
                    # AAAA too where both are on a dual-stack network (an IPv4-only one answers none)
                    six = bool(self.dual_stack & set(self.networks_of(src)) & set(self.networks_of(dst)))
                    for name in dict.fromkeys(
                        [dst, *self.aliases.get(dst, []), *sorted(self.link_aliases.get(dst, ()))]
                    ):
                        self.s.measure(src, dst, f"dns:{name}")
                        if six:
                            self.s.measure(src, dst, f"dns6:{name}")


def _option(value: Any) -> str:
    """A driver option as Docker takes it: a string (YAML's `false` is "false", not Python's "False")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _first_host(subnet: str) -> IPv4Address:
    return IPv4Network(subnet).network_address + 1


def _service_networks(svc: dict[str, Any]) -> dict[str, Any]:
    nets = svc.get("networks") or {}
    if isinstance(nets, list):
        return {str(n): {} for n in nets}
    return {str(k): v for k, v in nets.items()}


def _exposed(svc: dict[str, Any]) -> list[str]:
    """The probes of `expose:` entries ("5000", "53/udp") as "tcp:5000", "udp:53"."""
    return [f"{(str(e).partition('/')[2] or 'tcp')}:{str(e).partition('/')[0]}" for e in svc.get("expose") or []]


def _ports(where: str, spec: Any, fail: Any) -> list[tuple[str, int | None, int | str]]:
    """(host IP or '', host port or None where Docker picks one, container port or "PORT/udp") of one `ports:`
    entry, short or long syntax, ranges expanded."""
    host_ip = ""
    if isinstance(spec, dict):
        target, published = spec.get("target"), spec.get("published")
        proto = str(spec.get("protocol") or "tcp")
        host_ip = str(spec.get("host_ip") or "")
        text = f"{published if published is not None else ''}:{target}/{proto}"
    else:
        text = str(spec)
    main, _, proto = text.partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp"):
        raise fail(where, f"protocol {proto!r}: tcp or udp")
    if main.count(":") > 2 or main.startswith("["):
        raise fail(where, f"{text!r}: an IPv6 host address is not supported yet")
    parts = main.split(":")
    if len(parts) == 3:
        host_ip, parts = parts[0], parts[1:]
    if len(parts) == 1:  # "80": Docker picks the host port
        parts = ["", parts[0]]
    if len(parts) != 2:
        raise fail(where, f"{text!r}: use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp]")
    if host_ip:
        try:
            IPv4Address(host_ip)
        except ValueError:
            raise fail(where, f"{text!r}: host IP {host_ip!r} is not an IPv4 address") from None
    try:
        targets = _range(parts[1])
        hosts: list[int | None] = list(_range(parts[0])) if parts[0] else [None] * len(targets)
    except ValueError as e:
        raise fail(where, f"{text!r}: {e}") from e
    if len(hosts) != len(targets):
        raise fail(where, f"{text!r}: the host and container ranges differ in length")
    ip = host_ip if host_ip and host_ip != "0.0.0.0" else ""
    return [(ip, h, t if proto == "tcp" else f"{t}/udp") for h, t in zip(hosts, targets, strict=True)]


def _machine_ports() -> tuple[range, set[tuple[str, int]]]:
    """The machine's ephemeral port range (where Docker picks a host port) and the ports something listens on
    (tcp) or is bound to (udp) now, v4 and v6, from /proc: a port netlab picks must be free for Docker too."""
    low, high = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    taken: set[tuple[str, int]] = set()
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/net/{proto}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and (proto.startswith("udp") or fields[3] == "0A"):
                taken.add((proto[:3], int(fields[1].rsplit(":", 1)[1], 16)))
    return range(low, high + 1), taken


def _range(text: str) -> list[int]:
    first, _, last = text.partition("-")
    a, b = int(first), int(last or first)
    if not 1 <= a <= b <= 65535:
        raise ValueError(f"{text} is not a port or port range")
    return list(range(a, b + 1))
