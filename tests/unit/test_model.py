"""The scenario builder: address allocation, predefined networks, stages, routes (pure model, no I/O)."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv4Network

import pytest

from netlab import Scenario
from netlab.model import Driver, Probe, ProbeKind, Ref
from netlab.model.topology import Connect, Disconnect, EndpointKind, Route, Shim

POOL = IPv4Network("198.18.0.0/15")


def addr(topology, container: str, network: str) -> IPv4Address | None:
    for a in topology.container(container).attachments:
        if a.network == network:
            return a.address
    raise AssertionError(f"{container} is not attached to {network}")


def attachments_at(topology, stage: int, container: str) -> dict[str, IPv4Address | None]:
    for c in topology.containers_at(stage):
        if c.name == container:
            return {a.network: a.address for a in c.attachments}
    raise AssertionError(f"no container {container} in stage {stage}")


# -- subnets -----------------------------------------------------------------


def test_default_bridge_gets_the_first_pool_subnet_when_nothing_else_needs_one():
    t = Scenario("empty").build()
    bridge = t.network("bridge")
    assert bridge.subnet == IPv4Network("198.18.0.0/24")
    assert bridge.gateway == IPv4Address("198.18.0.1")


def test_subnets_are_allocated_as_slash_24s_in_order_lans_then_default_bridge_then_networks():
    s = Scenario("alloc")
    s.lan("lan0")
    s.lan("lan1")
    s.network("front")
    s.network("back")
    t = s.build()
    assert t.lan("lan0").subnet == IPv4Network("198.18.0.0/24")
    assert t.lan("lan1").subnet == IPv4Network("198.18.1.0/24")
    assert t.network("bridge").subnet == IPv4Network("198.18.2.0/24")
    assert t.network("front").subnet == IPv4Network("198.18.3.0/24")
    assert t.network("back").subnet == IPv4Network("198.18.4.0/24")


def test_every_allocated_subnet_is_a_slash_24_inside_the_benchmark_pool():
    s = Scenario("many")
    for i in range(5):
        s.lan(f"lan{i}")
        s.network(f"net{i}")
    t = s.build()
    subnets = [lan.subnet for lan in t.lans] + [n.subnet for n in t.networks if n.subnet is not None]
    assert len(subnets) == 11
    assert all(sub.prefixlen == 24 and sub.subnet_of(POOL) for sub in subnets)
    assert len(set(subnets)) == len(subnets)


def test_automatic_allocation_skips_subnets_declared_explicitly():
    s = Scenario("skip")
    s.network("fixed", subnet="198.18.0.0/24")
    s.network("auto")
    t = s.build()
    assert t.network("fixed").subnet == IPv4Network("198.18.0.0/24")
    assert t.network("bridge").subnet == IPv4Network("198.18.1.0/24")
    assert t.network("auto").subnet == IPv4Network("198.18.2.0/24")


def test_explicit_subnet_larger_than_slash_24_is_kept_and_avoided():
    s = Scenario("wide")
    s.network("wide", subnet="198.18.0.0/23")
    t = s.build()
    assert t.network("wide").subnet == IPv4Network("198.18.0.0/23")
    assert t.network("bridge").subnet == IPv4Network("198.18.2.0/24")


def test_gateway_is_the_first_host_address_of_every_network_with_addresses():
    s = Scenario("gw")
    s.network("a", subnet="198.18.40.0/24")
    s.network("b", subnet="198.18.41.128/25")
    t = s.build()
    assert t.network("a").gateway == IPv4Address("198.18.40.1")
    assert t.network("b").gateway == IPv4Address("198.18.41.129")
    assert t.network("bridge").gateway == t.network("bridge").subnet.network_address + 1


def test_explicit_gateway_is_kept_and_not_handed_to_a_container():
    s = Scenario("gw")
    net = s.network("a", subnet="198.18.40.0/24", gateway="198.18.40.2")
    s.container("c1", net)
    s.container("c2", net)
    t = s.build()
    assert t.network("a").gateway == IPv4Address("198.18.40.2")
    assert IPv4Address("198.18.40.2") not in {addr(t, "c1", "a"), addr(t, "c2", "a")}


# -- container addresses -----------------------------------------------------


def test_containers_get_addresses_from_dot_2_upward_in_declaration_order():
    s = Scenario("order")
    net = s.network("net", subnet="198.18.50.0/24")
    for name in ("zeta", "alpha", "mid"):
        s.container(name, net)
    t = s.build()
    assert [addr(t, n, "net") for n in ("zeta", "alpha", "mid")] == [
        IPv4Address("198.18.50.2"),
        IPv4Address("198.18.50.3"),
        IPv4Address("198.18.50.4"),
    ]


def test_container_without_networks_joins_the_default_bridge():
    s = Scenario("default")
    s.container("c1")
    t = s.build()
    bridge = t.network("bridge")
    assert [a.network for a in t.container("c1").attachments] == ["bridge"]
    assert addr(t, "c1", "bridge") == bridge.subnet.network_address + 2


def test_container_on_two_networks_gets_an_address_on_each_in_the_given_order():
    s = Scenario("multi")
    a = s.network("a", subnet="198.18.60.0/24")
    b = s.network("b", subnet="198.18.61.0/24")
    s.container("c1", b, a)
    t = s.build()
    assert [(x.network, x.address) for x in t.container("c1").attachments] == [
        ("b", IPv4Address("198.18.61.2")),
        ("a", IPv4Address("198.18.60.2")),
    ]


def test_explicit_container_ip_is_never_handed_out_to_an_earlier_container():
    s = Scenario("explicit")
    net = s.network("net", subnet="198.18.50.0/24")
    s.container("auto1", net)
    s.container("fixed", net, ip="198.18.50.2")
    s.container("auto2", net)
    t = s.build()
    assert addr(t, "fixed", "net") == IPv4Address("198.18.50.2")
    assert addr(t, "auto1", "net") == IPv4Address("198.18.50.3")
    assert addr(t, "auto2", "net") == IPv4Address("198.18.50.4")


def test_published_ports_are_recorded_as_tcp_host_to_container():
    s = Scenario("pub")
    s.container("web", publish={8080: 80})
    t = s.build()
    (p,) = t.container("web").publish
    assert (p.host_port, p.container_port, p.proto) == (8080, 80, "tcp")


def test_a_published_port_names_its_protocol_as_docker_writes_it():
    s = Scenario("pub")
    s.container("dns", publish={9053: "53/udp", 9080: "80/tcp", 9081: "81"})
    got = {(p.host_port, p.container_port, p.proto) for p in s.build().container("dns").publish}
    assert got == {(9053, 53, "udp"), (9080, 80, "tcp"), (9081, 81, "tcp")}


# -- lans, nodes, peers ------------------------------------------------------


def test_nodes_then_peers_take_lan_addresses_from_the_top_of_the_subnet():
    s = Scenario("lan")
    lan = s.lan("lan0", subnet="198.18.7.0/24")
    s.node("n2")
    s.peer("ext", lan)
    s.peer("ext2", lan)
    t = s.build()
    assert t.uplink("host", "lan0").address == IPv4Address("198.18.7.254")
    assert t.uplink("n2", "lan0").address == IPv4Address("198.18.7.253")
    peers = {p.name: p.address for p in t.peers}
    assert peers == {"ext": IPv4Address("198.18.7.252"), "ext2": IPv4Address("198.18.7.251")}


def test_explicit_peer_address_is_kept_and_skipped_by_the_uplinks():
    s = Scenario("lan")
    lan = s.lan("lan0", subnet="198.18.7.0/24")
    s.peer("ext", lan, address="198.18.7.254")
    t = s.build()
    assert t.peers[0].address == IPv4Address("198.18.7.254")
    assert t.uplink("host", "lan0").address == IPv4Address("198.18.7.253")


def test_every_node_gets_one_uplink_per_lan_named_by_lan_order():
    s = Scenario("uplinks")
    s.lan("lan0")
    s.lan("lan1")
    s.node("n2")
    t = s.build()
    assert [(u.node, u.lan, u.ifname) for u in t.uplinks] == [
        ("host", "lan0", "eth0"),
        ("host", "lan1", "eth1"),
        ("n2", "lan0", "eth0"),
        ("n2", "lan1", "eth1"),
    ]


def test_host_node_always_exists_and_comes_first():
    s = Scenario("nodes")
    s.node("n2")
    t = s.build()
    assert [n.name for n in t.nodes] == ["host", "n2"]


def test_container_is_placed_on_the_node_it_names():
    s = Scenario("nodes")
    n2 = s.node("n2")
    s.container("c1", node=n2)
    s.container("c0")
    t = s.build()
    assert t.container("c1").node == "n2"
    assert t.container("c0").node == "host"


# -- predefined networks -----------------------------------------------------


def test_predefined_networks_exist_by_name_with_their_drivers():
    t = Scenario("predef").build()
    got = {n.name: (n.driver, n.predefined) for n in t.networks if n.predefined}
    assert got == {
        "bridge": (Driver.BRIDGE, True),
        "host": (Driver.HOST, True),
        "none": (Driver.NONE, True),
    }


def test_default_bridge_is_docker0_and_has_no_embedded_dns():
    t = Scenario("predef").build()
    bridge = t.network("bridge")
    assert bridge.bridge_name == "docker0"
    assert not bridge.user_defined


def test_containers_on_host_and_none_networks_have_no_address():
    s = Scenario("predef")
    s.container("h1", "host")
    s.container("n1", "none")
    t = s.build()
    assert t.container("h1").attachments[0].network == "host"
    assert addr(t, "h1", "host") is None
    assert addr(t, "n1", "none") is None
    assert t.network("host").subnet is None and t.network("none").subnet is None


def test_user_defined_bridge_is_named_br_plus_12_hex_and_has_embedded_dns():
    s = Scenario("names")
    s.network("front")
    t = s.build()
    front = t.network("front")
    assert front.user_defined
    assert front.bridge_name is not None
    assert front.bridge_name.startswith("br-")
    assert len(front.bridge_name) == 15
    int(front.bridge_name[3:], 16)


def test_bridge_name_option_overrides_the_generated_name():
    s = Scenario("names")
    s.network("front", options={"com.docker.network.bridge.name": "brfront"})
    assert s.build().network("front").bridge_name == "brfront"


def test_boolean_options_become_docker_strings_and_drive_icc_and_masquerade():
    s = Scenario("opts")
    s.network(
        "closed",
        options={
            "com.docker.network.bridge.enable_icc": False,
            "com.docker.network.bridge.enable_ip_masquerade": False,
        },
    )
    s.network("open")
    t = s.build()
    closed, opened = t.network("closed"), t.network("open")
    assert closed.options["com.docker.network.bridge.enable_icc"] == "false"
    assert (closed.icc, closed.masquerade) == (False, False)
    assert (opened.icc, opened.masquerade) == (True, True)


def test_internal_flag_is_kept():
    s = Scenario("internal")
    s.network("inner", internal=True)
    s.network("outer")
    t = s.build()
    assert t.network("inner").internal
    assert not t.network("outer").internal


def test_macvlan_without_subnet_lives_on_its_parent_lans_subnet_below_the_lan_addresses():
    s = Scenario("mv")
    lan = s.lan("lan0", subnet="198.18.7.0/24")
    s.peer("ext", lan, address="198.18.7.2")
    mv = s.network("mv", driver="macvlan", parent=lan)
    s.container("c1", mv)
    s.container("c2", mv)
    t = s.build()
    assert t.network("mv").subnet == IPv4Network("198.18.7.0/24")
    assert t.network("mv").parent == "lan0"
    # .1 is the gateway, .2 the peer's: children take the next free ones
    assert [addr(t, c, "mv") for c in ("c1", "c2")] == [IPv4Address("198.18.7.3"), IPv4Address("198.18.7.4")]
    assert t.network("mv").bridge_name is None


# -- stages ------------------------------------------------------------------


def test_connect_in_a_stage_adds_the_attachment_from_that_stage_on():
    s = Scenario("stages")
    a = s.network("a", subnet="198.18.60.0/24")
    b = s.network("b", subnet="198.18.61.0/24")
    c1 = s.container("c1", a)
    s.container("c2", b)
    with s.stage("join") as st:
        st.connect(c1, b)
    with s.stage("later"):
        pass
    t = s.build()
    assert attachments_at(t, 0, "c1") == {"a": IPv4Address("198.18.60.2")}
    # c2 already holds .2 on b, so the connect gets the next free address
    assert attachments_at(t, 1, "c1") == {"a": IPv4Address("198.18.60.2"), "b": IPv4Address("198.18.61.3")}
    assert attachments_at(t, 2, "c1") == attachments_at(t, 1, "c1")
    assert t.container("c1") == t.containers_at(0)[0]


def test_connect_with_explicit_ip_uses_that_address():
    s = Scenario("stages")
    a = s.network("a", subnet="198.18.60.0/24")
    b = s.network("b", subnet="198.18.61.0/24")
    c1 = s.container("c1", a)
    with s.stage("join") as st:
        st.connect(c1, b, ip="198.18.61.77")
    t = s.build()
    assert attachments_at(t, 1, "c1")["b"] == IPv4Address("198.18.61.77")
    (action,) = t.stages[1].actions
    assert action == Connect("c1", "b", IPv4Address("198.18.61.77"))


def test_disconnect_in_a_stage_removes_the_attachment_from_that_stage_on():
    s = Scenario("stages")
    a = s.network("a", subnet="198.18.60.0/24")
    b = s.network("b", subnet="198.18.61.0/24")
    c1 = s.container("c1", a, b)
    with s.stage("leave") as st:
        st.disconnect(c1, a)
    t = s.build()
    assert set(attachments_at(t, 0, "c1")) == {"a", "b"}
    assert attachments_at(t, 1, "c1") == {"b": IPv4Address("198.18.61.2")}
    assert t.stages[1].actions == (Disconnect("c1", "a"),)


def test_containers_by_stage_yields_one_container_set_per_stage():
    s = Scenario("stages")
    a = s.network("a")
    c1 = s.container("c1", a)
    with s.stage("leave") as st:
        st.disconnect(c1, a)
    with s.stage("back") as st:
        st.connect(c1, a)
    t = s.build()
    sets = [{c.name: tuple(x.network for x in c.attachments) for c in cs} for cs in t.containers_by_stage()]
    assert sets == [{"c1": ("a",)}, {"c1": ()}, {"c1": ("a",)}]


def test_stages_come_after_initial_in_declaration_order_with_their_docs():
    s = Scenario("stages")
    with s.stage("one", "first change"):
        pass
    with s.stage("two", "second change"):
        pass
    t = s.build()
    assert [(st.name, st.doc) for st in t.stages] == [
        ("initial", ""),
        ("one", "first change"),
        ("two", "second change"),
    ]


def test_route_via_host_resolves_to_the_nodes_address_on_the_peers_lan():
    s = Scenario("route")
    lan = s.lan("lan0", subnet="198.18.7.0/24")
    ext = s.peer("ext", lan)
    front = s.network("front", subnet="198.18.20.0/24")
    s.container("web", front)
    with s.stage("route") as st:
        st.route(ext, front, via="host")
    t = s.build()
    assert t.stages[1].actions == (Route("ext", IPv4Network("198.18.20.0/24"), IPv4Address("198.18.7.254")),)


def test_route_via_host_picks_the_uplink_on_the_lan_the_peer_is_on():
    s = Scenario("route")
    s.lan("lan0", subnet="198.18.7.0/24")
    lan1 = s.lan("lan1", subnet="198.18.8.0/24")
    ext = s.peer("ext", lan1)
    front = s.network("front")
    with s.stage("route") as st:
        st.route(ext, front, via="host")
    (route,) = s.build().stages[1].actions
    assert isinstance(route, Route)
    assert route.via == IPv4Address("198.18.8.254")


def test_route_to_a_literal_subnet_via_a_peer_uses_the_peers_address():
    s = Scenario("route")
    lan = s.lan("lan0", subnet="198.18.7.0/24")
    gw = s.peer("gw", lan)
    with s.stage("route") as st:
        st.route("host", "198.18.99.0/24", via=gw)
    (route,) = s.build().stages[1].actions
    assert route == Route("host", IPv4Network("198.18.99.0/24"), IPv4Address("198.18.7.253"))


def test_route_via_a_literal_address_is_kept():
    s = Scenario("route")
    s.lan("lan0", subnet="198.18.7.0/24")
    s.container("c1")
    with s.stage("route") as st:
        st.route("c1", "198.18.99.0/24", via="198.18.7.9")
    (route,) = s.build().stages[1].actions
    assert isinstance(route, Route)
    assert route.via == IPv4Address("198.18.7.9")


def test_shim_takes_the_next_free_lan_address_from_the_top():
    s = Scenario("shim")
    lan = s.lan("lan0", subnet="198.18.7.0/24")
    s.peer("ext", lan)
    with s.stage("shim") as st:
        st.shim("host", lan)
    (shim,) = s.build().stages[1].actions
    assert shim == Shim("host", "lan0", IPv4Address("198.18.7.252"))


def test_shims_of_two_nodes_on_one_lan_get_distinct_addresses():
    s = Scenario("shim")
    lan = s.lan("lan0", subnet="198.18.7.0/24")
    n2 = s.node("n2")
    with s.stage("shim") as st:
        st.shim("host", lan)
        st.shim(n2, lan)
    shims = s.build().stages[1].actions
    addresses = [a.address for a in shims if isinstance(a, Shim)]
    assert len(addresses) == 2
    assert len(set(addresses)) == 2, f"both shims got {addresses[0]}"
    assert not {IPv4Address("198.18.7.254"), IPv4Address("198.18.7.253")} & set(addresses)


# -- expectations ------------------------------------------------------------


def test_expectations_are_grouped_by_the_stage_that_declared_them():
    s = Scenario("exp")
    c1 = s.container("c1")
    c2 = s.container("c2")
    s.expect(c1, c2)
    with s.stage("later") as st:
        st.expect(c2, c1, "tcp:80", reachable=False, claim="closed")
    t = s.build()
    (e0,) = t.stages[0].expectations
    (e1,) = t.stages[1].expectations
    assert (e0.stage, e0.src, e0.dst, e0.probe, e0.reachable) == ("initial", "c1", "c2", Probe(ProbeKind.ICMP), True)
    assert (e1.stage, e1.src, e1.dst, e1.probe, e1.reachable, e1.claim) == (
        "later",
        "c2",
        "c1",
        Probe(ProbeKind.TCP, port=80),
        False,
        "closed",
    )


def test_expectation_endpoints_may_be_objects_or_names_and_address_is_parsed():
    s = Scenario("exp")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    c1 = s.container("c1")
    s.expect(c1, ext)
    s.expect("c1", "ext", address="198.18.0.253")
    s.expect("host", c1)
    t = s.build()
    got = [(e.src, e.dst, e.address) for e in t.stages[0].expectations]
    assert got == [("c1", "ext", None), ("c1", "ext", IPv4Address("198.18.0.253")), ("host", "c1", None)]


def test_builder_refs_carry_kind_and_print_as_their_name():
    s = Scenario("refs")
    lan = s.lan("lan0")
    refs = [s.node("n2"), lan, s.peer("ext", lan), s.network("net"), s.container("c1")]
    assert [(r.kind, str(r)) for r in refs] == [
        ("node", "n2"),
        ("lan", "lan0"),
        ("peer", "ext"),
        ("network", "net"),
        ("container", "c1"),
    ]
    assert all(isinstance(r, Ref) for r in refs)


# -- the frozen topology -----------------------------------------------------


def test_endpoint_names_list_nodes_then_containers_then_peers_with_their_kinds():
    s = Scenario("eps")
    lan = s.lan("lan0")
    s.peer("ext", lan)
    s.container("c1")
    s.node("n2")
    s.container("c2")
    t = s.build()
    assert t.endpoint_names() == ("host", "n2", "c1", "c2", "ext")
    kinds = [t.endpoint_kind(n) for n in t.endpoint_names()]
    assert kinds == [
        EndpointKind.HOST,
        EndpointKind.HOST,
        EndpointKind.CONTAINER,
        EndpointKind.CONTAINER,
        EndpointKind.PEER,
    ]


def test_topology_is_frozen():
    t = Scenario("frozen").build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.networks[0].subnet = None  # type: ignore[misc]


def test_building_twice_gives_equal_topologies():
    def make() -> Scenario:
        s = Scenario("twice", title="T")
        lan = s.lan("lan0")
        s.peer("ext", lan)
        net = s.network("net")
        c1 = s.container("c1", net, publish={8080: 80})
        with s.stage("st") as st:
            st.route("ext", net, via="host")
            st.disconnect(c1, net)
        return s

    s = make()
    assert s.build() == s.build() == make().build()


def test_title_defaults_to_the_name():
    assert Scenario("plain").build().title == "plain"
    assert Scenario("plain", title="Plain bridge").build().title == "Plain bridge"


def test_lookups_of_unknown_names_raise_key_error():
    t = Scenario("lookups").build()
    for lookup in (t.network, t.container, t.lan):
        with pytest.raises(KeyError):
            lookup("nosuch")
    assert t.uplink("host", "nosuch") is None
