"""Compose files read as compose reads them and turned into scenarios (netlab/compose): interpolation, the
project name, the implicit default network, names as written, subnets moved into the pool with their host
parts, ports in every syntax, and one clear error for what is wrong or not supported yet."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from netlab import compose
from netlab.errors import ScenarioError
from netlab.model import dockerrules

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "compose"


def write(tmp_path: Path, text: str, name: str = "docker-compose.yml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_variables_come_from_the_environment_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=9000\nSUBNET='10.9.0.0/24'\n")
    f = write(
        tmp_path,
        """
        services:
          web:
            ports: ["${PORT}:${INNER:-80}"]
            networks: [net]
          cost:
            environment: {PRICE: "$$5"}
            networks: [net]
        networks:
          net:
            ipam: {config: [{subnet: "${SUBNET}"}]}
        """,
    )
    imp = compose.load(f, "p", environ={"PORT": "9100"})
    (p,) = imp.scenario.build().container("web").publish
    assert (p.host_port, p.container_port) == (9100, 80)
    assert any("10.9.0.0/24 moved to" in n for n in imp.notes)


def test_a_required_variable_that_is_missing_says_so(tmp_path: Path) -> None:
    f = write(tmp_path, 'services:\n  web:\n    ports: ["${PORT:?set PORT}:80"]\n')
    with pytest.raises(ScenarioError, match="variable PORT is required: set PORT"):
        compose.load(f, "p", environ={})


def test_project_name_as_compose_picks_it(tmp_path: Path) -> None:
    f = write(tmp_path, "name: My_Shop\nservices:\n  web: {}\n")
    assert compose.load(f, environ={}).project == "my_shop"
    assert compose.load(f, "other", environ={}).project == "other"
    assert compose.load(f, environ={"COMPOSE_PROJECT_NAME": "fromenv"}).project == "fromenv"


def test_services_without_networks_share_the_implicit_default_network(tmp_path: Path) -> None:
    f = write(tmp_path, "services:\n  node-proxy-api: {image: nginx}\n  my-api: {image: x}\n")
    t = compose.load(f, "p", environ={}).scenario.build()
    assert [a.network for c in t.containers for a in c.attachments] == ["default", "default"]
    assert {c.name for c in t.containers} == {"node-proxy-api", "my-api"}
    dns = {(m.src, m.dst, str(m.probe)) for m in t.stages[0].measurements}
    assert ("my-api", "node-proxy-api", "dns:node-proxy-api") in dns


def test_the_three_tier_example_moves_its_subnets_and_keeps_host_parts() -> None:
    imp = compose.load(EXAMPLES / "three-tier.yml", environ={})
    t = imp.scenario.build()
    front, back = t.network("front"), t.network("back")
    assert front.subnet is not None and back.subnet is not None
    assert front.subnet.prefixlen == back.subnet.prefixlen == 24
    assert front.subnet.subnet_of(IPv4Network("198.18.0.0/15")) and back.internal
    db = t.container("db").attachments[0]
    assert db.address == back.subnet.network_address + 10  # 10.15.1.10 keeps its .10
    assert "ignored (no effect on the network): build, environment, image, volumes" in imp.notes
    probes = {(m.src, m.dst, str(m.probe)) for m in t.stages[0].measurements}
    assert {
        ("host", "node-proxy", "tcp:80"),
        ("node-proxy", "my-api", "tcp:5000"),
        ("my-api", "db", "tcp:5432"),
    } <= probes
    assert IPv4Address("198.18.128.0") <= front.subnet.network_address


@pytest.mark.parametrize(
    ("ports", "published"),
    [
        (['"8080:80"'], {(8080, 80, "tcp")}),
        (['"5353:53/udp"'], {(5353, 53, "udp")}),
        (['"9000-9001:80-81"'], {(9000, 80, "tcp"), (9001, 81, "tcp")}),
        (["{target: 80, published: 8081, protocol: tcp}"], {(8081, 80, "tcp")}),
    ],
)
def test_ports_in_every_syntax(tmp_path: Path, ports: list[str], published: set[tuple[int, int, str]]) -> None:
    f = write(tmp_path, "services:\n  web:\n    ports:\n" + "".join(f"      - {p}\n" for p in ports))
    t = compose.load(f, "p", environ={}).scenario.build()
    assert {(p.host_port, p.container_port, p.proto) for p in t.container("web").publish} == published


def test_a_port_without_a_host_port_gets_a_free_one_of_the_ephemeral_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker picks such a host port itself; netlab picks the lowest one free on the machine and in the file and
    publishes it explicitly (both backends and the probes then use the same port), and says which."""
    from netlab.compose import convert

    monkeypatch.setattr(convert, "_machine_ports", lambda: (range(40000, 40010), {("tcp", 40000)}))
    text = (
        'services:\n  web:\n    ports:\n      - "80"\n      - "127.0.0.1::53/udp"\n      - {target: 81}\n'
        '      - "40001:82"\n  cli: {}\n'
    )
    imp = compose.load(write(tmp_path, text), "p", environ={})
    t = imp.scenario.build()
    got = {(p.host_port, p.container_port, p.proto, str(p.host_ip)) for p in t.container("web").publish}
    # 40000 is taken on the machine, 40001 by the file itself
    assert got == {
        (40002, 80, "tcp", "None"),
        (40000, 53, "udp", "127.0.0.1"),
        (40003, 81, "tcp", "None"),
        (40001, 82, "tcp", "None"),
    }
    assert (
        "services.web.ports[0]: Docker picks the host port; netlab publishes 40002/tcp (free on this machine)"
        in imp.notes
    )
    probes = {(m.src, m.dst, str(m.probe)) for m in t.stages[0].measurements}
    assert {("cli", "host", "tcp:40002"), ("cli", "host", "udp:40000"), ("host", "web", "tcp:81")} <= probes


def test_no_free_port_left_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netlab.compose import convert

    monkeypatch.setattr(convert, "_machine_ports", lambda: (range(40000, 40001), {("tcp", 40000)}))
    with pytest.raises(ScenarioError, match="no free tcp port left in the machine's ephemeral range 40000-40000"):
        compose.load(write(tmp_path, "services:\n  web: {ports: ['80']}\n"), "p", environ={})


def test_the_machine_s_ports_are_read_from_proc() -> None:
    from netlab.compose import convert

    span, taken = convert._machine_ports()
    assert len(span) > 1000 and all(proto in ("tcp", "udp") and 0 < port < 65536 for proto, port in taken)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("just: text\n", "not a compose file"),
        ("services:\n  web: [\n", "docker-compose.yml:3: not valid YAML"),
        ("services:\n  web: {networks: [nowhere]}\n", "network 'nowhere' is not declared"),
        ("services:\n  web: {networks: [n]}\nnetworks:\n  n: {colour: blue}\n", "unknown key 'colour'"),
        ("services:\n  web: {networks: [n]}\nnetworks:\n  n: {external: true, driver: bridge}\n", "has no place here"),
        ('services:\n  web: {ports: ["8080:80", "8080:81"]}\n', "host port 8080 is published twice"),
        ('services:\n  a: {ports: ["8080:80"]}\n  b: {ports: ["8080:80"]}\n', "already published by 'a'"),
        ('services:\n  web: {ports: ["::1:8080:80"]}\n', "not supported yet"),
        ("services:\n  web: {network_mode: 'container:other'}\n  db: {}\n", "not a container_name of this file"),
        ("services:\n  web: {spaceship: true}\n", "services.web.spaceship: unknown service key"),
        ("services:\n  web: [nginx]\n", "services.web: must be a map, not list"),
        ("services:\n  web: {}\nnetworks:\n  n: bridge\n", "networks.n: must be a map, not str"),
        (
            "services:\n  a: {networks: {n: {ipv4_address: 10.1.0.5}}}\n"
            "  b: {networks: {n: {ipv4_address: 10.1.0.5}}}\n"
            "networks:\n  n: {ipam: {config: [{subnet: 10.1.0.0/24}]}}\n",
            "198.18.128.5",
        ),
    ],
)
def test_bad_files_get_one_message_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    f = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        compose.load(f, "p", environ={})
    assert message in str(info.value) and str(f) in str(info.value), str(info.value)


def test_aliases_become_names_on_their_network_and_are_measured() -> None:
    t = compose.load(EXAMPLES / "three-tier.yml", environ={}).scenario.build()
    api = {a.network: a.aliases for a in t.container("my-api").attachments}
    assert api == {"front": ("api",), "back": ()}
    dns = {(m.src, m.dst, str(m.probe)) for m in t.stages[0].measurements}
    assert ("node-proxy", "my-api", "dns:api") in dns and ("db", "my-api", "dns:api") in dns


def test_container_name_is_one_more_dns_name_on_each_network(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        """
        services:
          web: {container_name: shop-web, networks: [a, b]}
          cli: {networks: [a]}
        networks: {a: {}, b: {}}
        """,
    )
    t = compose.load(f, "p", environ={}).scenario.build()
    assert {a.network: a.aliases for a in t.container("web").attachments} == {"a": ("shop-web",), "b": ("shop-web",)}
    assert ("cli", "web", "dns:shop-web") in {(m.src, m.dst, str(m.probe)) for m in t.stages[0].measurements}


def test_a_compose_file_is_a_scenario_wherever_a_scenario_file_is_taken() -> None:
    from netlab import loader

    topology = loader.load(str(EXAMPLES / "three-tier.yml"))
    assert topology.name == "shop"
    assert topology.source == str(EXAMPLES / "three-tier.yml")
    assert {c.name for c in topology.containers} == {"node-proxy", "my-api", "db"}
    with pytest.raises(ScenarioError, match="no such compose file"):
        loader.load("nowhere/compose.yml")


def test_a_macvlan_network_gets_a_lan_named_after_its_parent_on_its_own_subnet() -> None:
    imported = compose.load(EXAMPLES / "macvlan.yml")
    t = imported.scenario.build()
    lan = t.lan("eth0")
    net = t.network("lan")
    assert (net.driver.value, net.parent, dict(net.options)) == ("macvlan", "eth0", {"macvlan_mode": "bridge"})
    assert lan.subnet == net.subnet == IPv4Network("198.18.128.0/24")
    assert str(net.gateway) == "198.18.128.1"
    assert [str(a.address) for a in t.container("web").attachments] == ["198.18.128.10"]
    assert any("the machine's own eth0 is never used" in n for n in imported.notes)


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ("driver: macvlan\n    driver_opts: {parent: eth0.5000}", "a VLAN parent is INTERFACE.VID"),
        ("driver: bridge\n    driver_opts: {com.docker.network.driver.mtu: 9}", "is not an MTU"),
        ("driver: ipvlan\n    driver_opts: {parent: eth0, macvlan_mode: bridge}", "'macvlan_mode' is not supported"),
        ("driver: weave", "bridge, macvlan, ipvlan and overlay are"),
        ("driver: overlay\n    ipam: {config: [{subnet: 10.1.0.0/24}, {subnet: 10.1.1.0/24}]}", "several subnets"),
    ],
)
def test_what_a_macvlan_or_ipvlan_network_cannot_say_yet(tmp_path: Path, opts: str, message: str) -> None:
    path = write(tmp_path, f"services:\n  a:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    {opts}\n")
    with pytest.raises(ScenarioError, match=message):
        compose.load(path)


def test_a_macvlan_network_without_a_parent_is_docker_s_dummy_one(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  a:\n    networks: [n]\nnetworks:\n  n:\n    driver: macvlan\n")
    imported = compose.load(path)
    t = imported.scenario.build()
    assert t.network("n").parent is None and t.network("n").dummy and not t.lans
    assert any("no parent: Docker makes a dummy link the parent" in n for n in imported.notes)


def test_an_overlay_network_is_a_swarm_of_one_node_on_a_lan_of_its_own(tmp_path: Path) -> None:
    text = (
        "services:\n  a: {networks: [ov]}\n  b: {networks: [ov, other]}\n"
        "networks:\n  ov: {driver: overlay, attachable: true}\n  other: {driver: overlay}\n"
    )
    imported = compose.load(write(tmp_path, text))
    t = imported.scenario.build()
    assert [lan.name for lan in t.lans] == ["underlay"]
    assert t.network("ov").driver.value == "overlay" and t.network("other").driver.value == "overlay"
    assert sum("overlay networks need swarm mode" in n for n in imported.notes) == 1
    # Docker's egress for overlay containers: an endpoint on docker_gwbridge
    assert "docker_gwbridge" in {a.network for a in t.container("a").attachments}


def test_network_mode_of_another_service_or_container_name() -> None:
    t = compose.load(EXAMPLES / "sidecar.yml").scenario.build()
    assert (t.container("side").joins, t.container("tail").joins) == ("web", "web")
    # the sidecar comes after the service it joins, whatever the file's order
    names = [c.name for c in t.containers]
    assert names.index("web") < names.index("side")


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("service:nobody", "no service 'nobody' in this file"),
        ("container:elsewhere", "is not a container_name of this file"),
        ("bridge2", "compose knows host, none, bridge, service:NAME, container:NAME"),
    ],
)
def test_network_mode_naming_what_the_file_lacks(tmp_path: Path, mode: str, message: str) -> None:
    path = write(tmp_path, f"services:\n  a:\n    image: x\n  b:\n    image: x\n    network_mode: '{mode}'\n")
    with pytest.raises(ScenarioError, match=message):
        compose.load(path)


def test_a_sidecar_cannot_publish(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: x\n  b:\n    network_mode: service:a\n    ports: ['80:80']\n"
    with pytest.raises(ScenarioError, match="publish and network_mode of a container conflict"):
        compose.load(write(tmp_path, text))


def test_resolver_keys_are_noted_as_changing_no_measured_cell(tmp_path: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    dns: [10.0.0.53]\n    dns_search: [corp]\n"
        "    extra_hosts: ['db.corp:10.0.0.9']\n  b:\n    image: x\n"
    )
    imported = compose.load(write(tmp_path, text))
    note = next(n for n in imported.notes if n.startswith("ignored: dns"))
    assert "dns, dns_search, extra_hosts" in note and "Docker's embedded DNS answers itself" in note
    assert not any("sysctls" in n for n in imported.notes)


def test_fixed_addresses_on_several_networks(tmp_path: Path) -> None:
    text = """
services:
  api:
    image: x
    networks:
      front: {ipv4_address: 10.20.0.5}
      back: {ipv4_address: 10.20.1.5}
networks:
  front: {ipam: {config: [{subnet: 10.20.0.0/24}]}}
  back: {ipam: {config: [{subnet: 10.20.1.0/24}]}}
"""
    t = compose.load(write(tmp_path, text)).scenario.build()
    got = {a.network: str(a.address) for a in t.container("api").attachments}
    assert got == {"front": "198.18.128.5", "back": "198.18.129.5"}


def test_keep_subnets_uses_the_file_s_subnets_as_written() -> None:
    imported = compose.load(EXAMPLES / "three-tier.yml", keep_subnets=True)
    t = imported.scenario.build()
    assert t.own_subnets
    assert str(t.network("front").subnet) == "10.15.0.0/24"
    assert [str(a.address) for a in t.container("db").attachments] == ["10.15.1.10"]
    assert any("10.15.0.0/24 used as written (--keep-subnets)" in n for n in imported.notes)
    assert not any("moved" in n for n in imported.notes)


def test_subnets_outside_the_pool_are_refused_unless_the_scenario_owns_them() -> None:
    from netlab import Scenario
    from netlab.model.errors import InvalidScenario

    for own in (False, True):
        s = Scenario("own", own_subnets=own)
        s.network("n", subnet="10.15.0.0/24")
        if own:
            assert str(s.build().network("n").subnet) == "10.15.0.0/24"
        else:
            with pytest.raises(InvalidScenario, match="outside netlab's pool"):
                s.build()


def test_kept_subnets_that_a_route_of_the_machine_overlaps_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from netlab import runner
    from netlab.kernel import hoststate

    # a VPN's wide route: left out when netlab checks its own pool's subnets, counted for subnets kept as written
    route = (IPv4Network("10.0.0.0/8"), "10.0.0.0/8 dev wg0")
    monkeypatch.setattr(hoststate, "host_networks", lambda min_prefix=15: [route] if min_prefix <= 8 else [])
    t = compose.load(EXAMPLES / "three-tier.yml", keep_subnets=True).scenario.build()
    with pytest.raises(ScenarioError, match=r"overlaps the host.s route 10\.0\.0\.0/8 dev wg0.*drop --keep-subnets"):
        runner.check_host_routes(t)


def test_an_external_network_is_named_as_compose_names_it_and_refused_on_netns(tmp_path: Path) -> None:
    from netlab.backends.netns.backend import NetnsBackend
    from netlab.errors import UsageError

    text = "services:\n  web: {networks: [proxy, legacy]}\nnetworks:\n  proxy: {external: true, name: edge-net}\n"
    text += "  legacy:\n    external:\n      name: old-net\n"
    t = compose.load(write(tmp_path, text)).scenario.build()
    assert (t.network("proxy").external, t.network("legacy").external) == ("edge-net", "old-net")
    assert [a.address for a in t.container("web").attachments] == [None, None]  # Docker's addresses
    with pytest.raises(UsageError, match="netns backend builds every network itself; run it with --backend docker"):
        NetnsBackend().check(t)


def test_ports_on_one_host_address_and_their_cells_at_the_host(tmp_path: Path) -> None:
    text = """
services:
  web:
    image: x
    ports: ["127.0.0.1:8080:80", {target: 81, published: 8081, host_ip: 127.0.0.2}, "0.0.0.0:8082:82"]
  cli:
    image: x
"""
    imported = compose.load(write(tmp_path, text))
    t = imported.scenario.build()
    got = {(p.host_port, p.container_port, str(p.host_ip)) for p in t.container("web").publish}
    assert got == {(8080, 80, "127.0.0.1"), (8081, 81, "127.0.0.2"), (8082, 82, "None")}
    cells = {(m.src, m.dst, str(m.probe)) for m in t.stages[0].measurements}
    # the published ports as the containers reach them, at the host
    assert {("cli", "host", "tcp:8080"), ("web", "host", "tcp:8082"), ("cli", "web", "tcp:80")} <= cells


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services:\n  a: {network_mode: 'service:a', ports: ['80:80']}\n", "cannot join its own namespace"),
        (
            "services:\n  a: {network_mode: 'service:b'}\n  b: {network_mode: 'service:a'}\n  c: {ports: ['80:80']}\n",
            "itself joins 'service:a'; join that service instead",
        ),
    ],
)
def test_network_mode_loops_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        compose.load(write(tmp_path, text))


def test_kept_subnets_must_be_private_and_hold_no_dns_server_of_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netlab import runner
    from netlab.kernel import hoststate

    monkeypatch.setattr(hoststate, "host_networks", lambda min_prefix=15: [])
    monkeypatch.setattr(hoststate, "nameservers", lambda: [IPv4Address("10.15.1.53")])
    text = "services:\n  a: {networks: [n]}\nnetworks:\n  n: {ipam: {config: [{subnet: SUBNET}]}}\n"
    public = compose.load(write(tmp_path, text.replace("SUBNET", "8.8.8.0/24")), keep_subnets=True)
    with pytest.raises(ScenarioError, match=r"8\.8\.8\.0/24 is not a private range"):
        runner.check_host_routes(public.scenario.build())
    with pytest.raises(ScenarioError, match=r"holds this machine.s DNS server 10\.15\.1\.53"):
        runner.check_host_routes(compose.load(EXAMPLES / "three-tier.yml", keep_subnets=True).scenario.build())


def test_a_dotted_service_cannot_join_itself(tmp_path: Path) -> None:
    text = "services:\n  my.svc: {network_mode: 'service:my.svc'}\n  b: {ports: ['80:80']}\n"
    with pytest.raises(ScenarioError, match="cannot join its own namespace"):
        compose.load(write(tmp_path, text))


def test_links_make_an_alias_the_linking_service_alone_resolves(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        """
        services:
          web: {links: ["db:database", cache], networks: [front, back]}
          db: {networks: [back]}
          cache: {networks: [back]}
          other: {networks: [back]}
        networks: {front: {}, back: {}}
        """,
    )
    t = compose.load(f, "p", environ={}).scenario.build()
    assert [c.name for c in t.containers] == ["db", "cache", "web", "other"]  # compose starts linked services first
    assert t.container("web").links == (("db", "database"), ("cache", "cache"))
    zone = dockerrules.embedded_zone(t, t.container("web"), t.containers)
    db_back = str(t.container("db").attachments[0].address)
    assert zone["database"] == db_back
    assert "database" not in dockerrules.embedded_zone(t, t.container("other"), t.containers)
    measured = {(m.src, m.dst, str(m.probe)) for m in t.stages[0].measurements}
    assert {("web", "db", "dns:database"), ("other", "db", "dns:database")} <= measured


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services:\n  a: {links: [b]}\n", "services.a.links: 'b': no service 'b' in this file"),
        ("services:\n  a: {links: [a]}\n", "a service cannot link to itself"),
        ("services:\n  a: {links: b}\n", "must be a list"),
        ("services:\n  a: {links: [b]}\n  b: {links: [a]}\n", "the links form a cycle"),
        ("services:\n  a: {links: [b], network_mode: bridge}\n  b: {}\n", "legacy links"),
    ],
)
def test_links_compose_cannot_start_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        compose.load(write(tmp_path, text))


def test_vlan_parents_and_bridge_driver_options(tmp_path: Path) -> None:
    text = """
    services:
      a: {networks: [v50, v60]}
      b: {networks: [br], ports: ["8080:80"]}
    networks:
      v50: {driver: macvlan, driver_opts: {parent: eth1.50}, ipam: {config: [{subnet: 10.50.0.0/24}]}}
      v60: {driver: macvlan, driver_opts: {parent: eth1.60}}
      br:
        driver_opts:
          com.docker.network.bridge.name: br-shop
          com.docker.network.driver.mtu: 1400
          com.docker.network.bridge.host_binding_ipv4: 127.0.0.1
          com.docker.network.bridge.enable_icc: false
    """
    imported = compose.load(write(tmp_path, text))
    t = imported.scenario.build()
    assert (t.network("v50").parent, t.network("v60").parent) == ("eth1.50", "eth1.60")
    assert [(lan.name, lan.trunk, lan.vid) for lan in t.lans if lan.vid] == [
        ("eth1.50", "eth1", 50),
        ("eth1.60", "eth1", 60),
    ]
    assert t.lan("eth1.50").subnet == IPv4Network("198.18.128.0/24")
    br = t.network("br")
    assert (br.bridge_name, br.mtu, br.icc) == ("br-shop", 1400, False)
    assert [str(p.host_ip) for p in t.container("b").publish] == ["127.0.0.1"]
    assert any("VLAN 50 of a trunk lan eth1" in n for n in imported.notes)


@pytest.mark.parametrize(
    "spec",
    ["{net.ipv4.icmp_echo_ignore_all: 1, kernel.shmmax: 1}", "[net.ipv4.icmp_echo_ignore_all=1, kernel.shmmax=1]"],
)
def test_sysctls_of_the_network_namespace_are_set_the_others_noted(tmp_path: Path, spec: str) -> None:
    imported = compose.load(write(tmp_path, f"services:\n  a:\n    sysctls: {spec}\n  b: {{}}\n"))
    t = imported.scenario.build()
    assert t.container("a").sysctls == (("net.ipv4.icmp_echo_ignore_all", "1"),)
    assert "services.a.sysctls: ignored kernel.shmmax (no effect on the network)" in imported.notes


def test_enable_ipv6_makes_a_dual_stack_network_in_netlab_s_ipv6_pool(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        """
        services:
          web:
            image: nginx
            networks: {front: {ipv6_address: "2001:db8:1::10"}, kept: {ipv6_address: "fd6e:6574:6c00:77::99"}}
          mv: {image: x, networks: {lan: {ipv6_address: "2001:db8:3::5"}, plain: {}}}
        networks:
          front:
            enable_ipv6: true
            ipam: {config: [{subnet: 10.15.0.0/24}, {subnet: "2001:db8:1::/64"}]}
          kept:
            enable_ipv6: true
            ipam: {config: [{subnet: "fd6e:6574:6c00:77::/64"}]}
          lan:
            driver: macvlan
            enable_ipv6: true
            driver_opts: {parent: eth9}
          plain:
            ipam: {config: [{subnet: "2001:db8:2::/64"}]}
        """,
    )
    imp = compose.load(f, "p", environ={})
    t = imp.scenario.build()
    front = t.network("front")
    assert front.subnet is not None and front.subnet6 is not None
    assert str(front.subnet6).startswith("fd6e:6574:6c00:")  # moved into the pool: the /64 of its IPv4 subnet
    assert str(t.network("kept").subnet6) == "fd6e:6574:6c00:77::/64"  # already in the pool: as written
    assert t.network("lan").subnet6 == t.lan("eth9").subnet6 is not None  # a dual-stack child on a dual-stack lan
    assert not t.network("plain").ipv6
    notes = "\n".join(imp.notes)
    assert "IPv6 subnet 2001:db8:1::/64 moved to netlab's IPv6 pool" in notes
    # ipv6_address: as written in a subnet kept, moved with its subnet (host part kept), noted where the file has no
    # IPv6 subnet for the network
    web = t.container("web")
    assert [front.v6_for(a) for a in web.attachments if a.network == "front"] == [front.subnet6.network_address + 0x10]
    assert [str(a.address6) for a in web.attachments if a.network == "kept"] == ["fd6e:6574:6c00:77::99"]
    assert "services.mv.networks.lan: ipv6_address ignored: the network has no IPv6 subnet" in notes
    assert "an IPv6 subnet without enable_ipv6" in notes


def test_services_sharing_a_dual_stack_network_are_asked_for_aaaa_too(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        """
        services:
          a: {image: x, networks: [six, four]}
          b: {image: x, networks: [six]}
          c: {image: x, networks: [four]}
        networks:
          six: {enable_ipv6: true}
          four: {}
        """,
    )
    t = compose.load(f, "p", environ={}).scenario.build()
    measured = {(m.src, m.dst, str(m.probe)) for st in t.stages for m in st.measurements}
    assert ("a", "b", "dns6:b") in measured and ("b", "a", "dns6:a") in measured
    assert ("a", "c", "dns6:c") not in measured and ("a", "c", "dns:c") in measured
