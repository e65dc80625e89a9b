"""Invalid scenarios fail before anything is created, with a message naming the object and the problem."""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from netlab import Scenario, loader
from netlab.errors import NetlabError, ScenarioError
from netlab.model import InvalidScenario


def fails(s: Scenario, *fragments: str) -> str:
    """Build `s`, expect InvalidScenario, check the message holds every fragment; return it."""
    with pytest.raises(InvalidScenario) as info:
        s.build()
    msg = str(info.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return msg


# -- names -------------------------------------------------------------------


def test_unknown_driver_is_rejected_listing_the_valid_drivers():
    s = Scenario("x")
    with pytest.raises(InvalidScenario) as info:
        s.network("n1", driver="vlan")
    msg = str(info.value)
    assert "'n1'" in msg and "'vlan'" in msg
    for driver in ("bridge", "host", "none", "macvlan", "ipvlan", "overlay"):
        assert driver in msg.split("'vlan'", 1)[1]


def test_duplicate_name_across_kinds_is_rejected_naming_the_earlier_kind():
    s = Scenario("x")
    s.network("web")
    with pytest.raises(InvalidScenario) as info:
        s.container("web")
    msg = str(info.value)
    assert "container 'web'" in msg and "duplicate" in msg and "network" in msg


def test_duplicate_container_name_is_rejected():
    s = Scenario("x")
    s.container("c1")
    with pytest.raises(InvalidScenario, match=r"container 'c1'.*duplicate"):
        s.container("c1")


def test_container_named_host_clashes_with_the_host_node():
    s = Scenario("x")
    with pytest.raises(InvalidScenario, match=r"container 'host'.*duplicate.*node"):
        s.container("host")


@pytest.mark.parametrize("name", ["bridge", "none"])
def test_network_named_like_a_predefined_network_is_rejected(name: str):
    s = Scenario("x")
    with pytest.raises(InvalidScenario, match=rf"network '{name}'.*predefined"):
        s.network(name)


@pytest.mark.parametrize(("kind", "name"), [("container", "none"), ("container", "bridge"), ("lan", "bridge")])
def test_other_objects_named_like_a_predefined_network_are_rejected(kind: str, name: str):
    s = Scenario("x")
    declare = {"container": s.container, "lan": s.lan}[kind]
    with pytest.raises(InvalidScenario) as info:
        declare(name)
    assert f"{kind} {name!r}" in str(info.value)


@pytest.mark.parametrize("name", ["-web", "_web", "web 1", "", "x" * 64, "web/1", ".web"])
def test_malformed_names_are_rejected_saying_what_names_look_like(name: str):
    s = Scenario("x")
    with pytest.raises(InvalidScenario, match="names are 1-63 characters"):
        s.container(name)


@pytest.mark.parametrize("name", ["node-proxy-api", "my-api", "1web", "web.1", "Web", "x" * 63])
def test_names_are_what_docker_and_compose_allow(name: str):
    s = Scenario("x")
    net = s.network("front-net")
    s.container(name, net)
    s.container("other", net)
    s.expect(name, "other")
    assert name in s.build().endpoint_names()


def test_names_differing_only_in_case_are_one_name_to_dns():
    s = Scenario("x")
    s.container("web")
    with pytest.raises(InvalidScenario, match="only in case"):
        s.container("WEB")


def test_duplicate_stage_name_is_rejected():
    s = Scenario("x")
    with s.stage("one"):
        pass
    with pytest.raises(InvalidScenario, match=r"stage 'one'.*duplicate"), s.stage("one"):
        pass


def test_stage_named_initial_is_rejected():
    s = Scenario("x")
    with pytest.raises(InvalidScenario, match=r"stage 'initial'"), s.stage("initial"):
        pass


# -- subnets and addresses ---------------------------------------------------


def test_overlapping_bridge_subnets_are_rejected_naming_both():
    s = Scenario("x")
    s.network("a", subnet="198.18.10.0/24")
    s.network("b", subnet="198.18.10.128/25")
    fails(s, "network 'a'", "network 'b'", "overlaps", "198.18.10.0/24", "198.18.10.128/25")


def test_network_overlapping_a_lan_is_rejected_naming_both():
    s = Scenario("x")
    s.lan("lan0", subnet="198.18.10.0/24")
    s.network("a", subnet="198.18.10.0/24")
    fails(s, "lan 'lan0'", "network 'a'", "overlaps")


@pytest.mark.parametrize("driver", ["macvlan", "ipvlan"])
def test_macvlan_and_ipvlan_networks_may_share_their_parent_lans_subnet(driver: str):
    s = Scenario("x")
    lan = s.lan("lan0", subnet="198.18.10.0/24")
    s.peer("ext", lan)
    net = s.network("mv", driver=driver, parent=lan, subnet="198.18.10.0/24")
    s.container("c1", net)
    t = s.build()
    assert t.network("mv").subnet == t.lan("lan0").subnet
    used = {u.address for u in t.uplinks} | {p.address for p in t.peers} | {t.network("mv").gateway}
    assert t.container("c1").attachments[0].address not in used


def test_macvlan_network_overlapping_a_lan_that_is_not_its_parent_is_rejected():
    s = Scenario("x")
    lan0 = s.lan("lan0", subnet="198.18.10.0/24")
    s.lan("lan1", subnet="198.18.11.0/24")
    s.network("mv", driver="macvlan", parent=lan0, subnet="198.18.11.0/24")
    fails(s, "lan 'lan1'", "network 'mv'", "overlaps")


def test_bridge_network_may_not_share_a_lans_subnet():
    s = Scenario("x")
    s.lan("lan0", subnet="198.18.10.0/24")
    s.network("br", driver="bridge", subnet="198.18.10.0/24")
    fails(s, "network 'br'", "overlaps")


@pytest.mark.parametrize(
    ("kind", "subnet"), [("network", "10.0.0.0/24"), ("lan", "192.168.1.0/24"), ("network", "198.16.0.0/14")]
)
def test_subnet_outside_the_pool_is_rejected_naming_the_pool(kind: str, subnet: str):
    s = Scenario("x")
    if kind == "network":
        s.network("n1", subnet=subnet)
    else:
        s.lan("n1", subnet=subnet)
    fails(s, f"{kind} 'n1'", subnet, "198.18.0.0/15")


@pytest.mark.parametrize("subnet", ["198.18.10.1/24", "not-a-subnet", "198.18.10.0/33"])
def test_malformed_subnet_is_rejected(subnet: str):
    s = Scenario("x")
    s.network("n1", subnet=subnet)
    fails(s, "network 'n1'", "invalid subnet", subnet)


def test_ipv6_subnet_is_rejected():
    s = Scenario("x")
    s.network("n1", subnet="2001:db8::/64")
    fails(s, "network 'n1'", "IPv4")


@pytest.mark.parametrize("ip", ["198.18.11.5", "198.18.10.0", "198.18.10.255"])
def test_container_address_outside_its_subnet_is_rejected(ip: str):
    s = Scenario("x")
    net = s.network("n1", subnet="198.18.10.0/24")
    s.container("c1", net, ip=ip)
    fails(s, "container 'c1'", ip, "198.18.10.0/24")


def test_gateway_outside_its_subnet_is_rejected():
    s = Scenario("x")
    s.network("n1", subnet="198.18.10.0/24", gateway="198.18.11.1")
    fails(s, "network 'n1' gateway", "198.18.11.1")


def test_peer_address_outside_its_lan_is_rejected():
    s = Scenario("x")
    lan = s.lan("lan0", subnet="198.18.10.0/24")
    s.peer("ext", lan, address="198.18.12.7")
    fails(s, "peer 'ext'", "198.18.12.7")


def test_two_containers_with_the_same_explicit_address_are_rejected():
    s = Scenario("x")
    net = s.network("n1", subnet="198.18.10.0/24")
    s.container("c1", net, ip="198.18.10.5")
    s.container("c2", net, ip="198.18.10.5")
    fails(s, "container 'c2'", "198.18.10.5", "already taken")


def test_two_peers_with_the_same_address_are_rejected():
    s = Scenario("x")
    lan = s.lan("lan0", subnet="198.18.10.0/24")
    s.peer("p1", lan, address="198.18.10.10")
    s.peer("p2", lan, address="198.18.10.10")
    fails(s, "peer 'p2'", "198.18.10.10")


def test_ip_on_a_network_without_addresses_is_rejected():
    s = Scenario("x")
    s.container("c1", "none", ip="198.18.10.5")
    fails(s, "container 'c1'", "ip=")


# -- references --------------------------------------------------------------


def test_container_on_an_unknown_network_is_rejected_naming_both():
    s = Scenario("x")
    s.container("c1", "nosuch")
    fails(s, "container 'c1'", "unknown network 'nosuch'")


def test_container_on_an_unknown_node_is_rejected():
    s = Scenario("x")
    s.container("c1", node="n9")
    fails(s, "container 'c1'", "unknown node 'n9'")


def test_peer_on_an_unknown_lan_is_rejected():
    s = Scenario("x")
    s.peer("ext", "lan9")
    fails(s, "peer 'ext'", "unknown lan 'lan9'")


def test_container_attached_twice_to_one_network_is_rejected():
    s = Scenario("x")
    net = s.network("n1")
    s.container("c1", net, net)
    fails(s, "container 'c1'", "'n1' twice")


@pytest.mark.parametrize("special", ["host", "none"])
def test_host_and_none_cannot_be_combined_with_other_networks(special: str):
    s = Scenario("x")
    net = s.network("n1")
    s.container("c1", special, net)
    fails(s, "container 'c1'", "cannot be combined")


def test_macvlan_and_ipvlan_without_a_parent_get_docker_s_dummy_link():
    """Docker makes a dummy link the parent (dm-<id>, di-<id>): node-local, with nothing else on it."""
    from netlab.kernel import features

    s = Scenario("x")
    s.network("mv", driver="macvlan")
    s.network("iv", driver="ipvlan", options={"ipvlan_mode": "l3"})
    s.container("a", "mv")
    s.container("b", "iv")
    t = s.build()
    mv, iv = t.network("mv"), t.network("iv")
    assert mv.parent is None and mv.dummy is not None and mv.dummy.startswith("dm-") and len(mv.dummy) == 15
    assert iv.dummy is not None and iv.dummy.startswith("di-")
    assert mv.subnet is not None and mv.subnet.subnet_of(IPv4Network("198.18.0.0/15"))
    assert t.segment("mv", "host") == "host/mv"  # each node's dummy is its own
    assert {"dummy", "macvlan", "ipvlan"} <= features.link_kinds_needed(t)


def test_macvlan_with_a_parent_that_is_not_a_lan_is_rejected():
    s = Scenario("x")
    s.network("mv", driver="macvlan", parent="eth9")
    fails(s, "network 'mv'", "'eth9'", "not a lan")


def test_parent_on_a_bridge_network_is_rejected():
    s = Scenario("x")
    lan = s.lan("lan0")
    s.network("br", driver="bridge", parent=lan)
    fails(s, "network 'br'", "parent=")


@pytest.mark.parametrize("driver", ["host", "none"])
def test_second_host_or_none_network_is_rejected(driver: str):
    s = Scenario("x")
    s.network("extra", driver=driver)
    fails(s, "network 'extra'", "predefined")


def test_non_boolean_icc_option_is_rejected():
    s = Scenario("x")
    s.network("n1", options={"com.docker.network.bridge.enable_icc": "maybe"})
    fails(s, "network 'n1'", "enable_icc", "'maybe'")


def test_unknown_macvlan_mode_is_rejected_listing_the_modes():
    s = Scenario("x")
    lan = s.lan("lan0")
    s.network("mv", driver="macvlan", parent=lan, options={"macvlan_mode": "hub"})
    fails(s, "network 'mv'", "'hub'", "bridge, private, vepa, passthru")


def test_two_containers_on_one_macvlan_passthru_network_and_node_are_rejected():
    s = Scenario("x")
    lan = s.lan("lan0")
    mv = s.network("mv", driver="macvlan", parent=lan, options={"macvlan_mode": "passthru"})
    s.container("c1", mv)
    s.container("c2", mv)
    fails(s, "network 'mv'", "passthru", "c1, c2")


@pytest.mark.parametrize("publish", [{0: 80}, {8080: 70000}, {8080: "http"}, {8080: True}])
def test_publish_port_out_of_range_is_rejected(publish: dict[int, object]):
    s = Scenario("x")
    s.container("c1", publish=publish)
    fails(s, "container 'c1'", "publish port")


def test_publish_protocol_other_than_tcp_or_udp_is_rejected():
    s = Scenario("x")
    s.container("c1", publish={8080: "80/sctp"})
    fails(s, "container 'c1'", "tcp or udp")


# -- expectations ------------------------------------------------------------


@pytest.mark.parametrize(("src", "dst", "unknown"), [("ghost", "c1", "ghost"), ("c1", "ghost", "ghost")])
def test_expectation_with_an_unknown_endpoint_is_rejected_listing_the_known_ones(src: str, dst: str, unknown: str):
    s = Scenario("x")
    s.container("c1")
    s.expect(src, dst)
    fails(s, f"expectation {src} -> {dst}", f"unknown endpoint {unknown!r}", "c1, host")


def test_expectation_to_a_network_name_is_rejected():
    s = Scenario("x")
    net = s.network("n1")
    s.container("c1", net)
    s.expect("c1", net)
    fails(s, "unknown endpoint 'n1'")


@pytest.mark.parametrize("probe", ["tcp:x", "tcp:0", "tcp:65536", "udp:", "tcp:", "foo", "dns:", "dns:-bad", "icmp:1"])
def test_bad_probe_spec_is_rejected_naming_the_expectation_and_the_spec(probe: str):
    s = Scenario("x")
    s.container("c1")
    s.expect("host", "c1", probe)
    fails(s, "expectation host -> c1", f"bad probe {probe!r}")


def test_bad_probe_in_a_stage_expectation_is_rejected():
    s = Scenario("x")
    s.container("c1")
    with s.stage("later") as st:
        st.expect("host", "c1", "tcp:99999")
    fails(s, "expectation host -> c1", "'tcp:99999'")


def test_non_boolean_reachable_is_rejected():
    s = Scenario("x")
    s.container("c1")
    with pytest.raises(InvalidScenario, match="reachable must be True or False"):
        s.expect("host", "c1", reachable="yes")  # type: ignore[arg-type]


def test_malformed_expectation_address_is_rejected():
    s = Scenario("x")
    s.container("c1")
    s.expect("host", "c1", address="198.18.1")
    fails(s, "expectation host -> c1", "'198.18.1'")


def test_endpoint_that_is_neither_name_nor_object_is_rejected():
    s = Scenario("x")
    with pytest.raises(InvalidScenario, match="expected a name or an object"):
        s.expect(42, "host")  # type: ignore[arg-type]


# -- stage actions -----------------------------------------------------------


def test_connect_to_an_unknown_network_is_rejected_naming_the_stage():
    s = Scenario("x")
    s.container("c1")
    with s.stage("join") as st:
        st.connect("c1", "nosuch")
    fails(s, "stage 'join'", "unknown network 'nosuch'")


def test_connect_of_an_unknown_container_is_rejected():
    s = Scenario("x")
    with s.stage("join") as st:
        st.connect("ghost", "bridge")
    fails(s, "stage 'join'", "unknown container 'ghost'")


def test_connect_with_an_address_outside_the_network_is_rejected():
    s = Scenario("x")
    net = s.network("n1", subnet="198.18.10.0/24")
    s.container("c1")
    with s.stage("join") as st:
        st.connect("c1", net, ip="198.18.20.5")
    fails(s, "stage 'join'", "198.18.20.5")


def test_connect_with_an_address_already_taken_is_rejected():
    s = Scenario("x")
    net = s.network("n1", subnet="198.18.10.0/24")
    s.container("c1", net)  # holds 198.18.10.2
    s.container("c2")
    with s.stage("join") as st:
        st.connect("c2", net, ip="198.18.10.2")
    fails(s, "stage 'join'", "198.18.10.2")


def test_connect_to_a_network_the_container_is_already_on_is_rejected():
    s = Scenario("x")
    net = s.network("n1")
    s.container("c1", net)
    with s.stage("join") as st:
        st.connect("c1", net)
    fails(s, "stage 'join'", "'c1'", "'n1'")


def test_disconnect_from_a_network_the_container_is_not_on_is_rejected():
    s = Scenario("x")
    net = s.network("n1")
    s.container("c1", net)
    with s.stage("leave") as st:
        st.disconnect("c1", "bridge")
    fails(s, "stage 'leave'", "'c1'", "'bridge'")


def test_connecting_a_host_network_container_to_another_network_is_rejected():
    s = Scenario("x")
    net = s.network("n1")
    s.container("h1", "host")
    with s.stage("join") as st:
        st.connect("h1", net)
    fails(s, "stage 'join'", "'h1'", "host")


def test_connecting_a_container_to_the_host_network_is_rejected():
    s = Scenario("x")
    net = s.network("n1")
    s.container("c1", net)
    with s.stage("join") as st:
        st.connect("c1", "host")
    fails(s, "stage 'join'", "'c1'", "host")


def test_route_on_an_unknown_endpoint_is_rejected():
    s = Scenario("x")
    s.lan("lan0")
    with s.stage("r") as st:
        st.route("ghost", "198.18.50.0/24", via="host")
    fails(s, "stage 'r'", "unknown endpoint 'ghost'")


def test_route_to_something_that_is_neither_network_nor_subnet_is_rejected():
    s = Scenario("x")
    s.lan("lan0")
    with s.stage("r") as st:
        st.route("host", "nowhere", via="198.18.0.9")
    fails(s, "stage 'r'", "'nowhere'", "neither a network, a lan nor a subnet")


def test_route_via_a_node_without_a_shared_lan_is_rejected():
    s = Scenario("x")
    s.container("c1")
    with s.stage("r") as st:
        st.route("c1", "198.18.50.0/24", via="host")
    fails(s, "stage 'r'", "'host'", "shares no lan")


def test_shim_on_an_unknown_lan_or_node_is_rejected():
    s = Scenario("x")
    s.lan("lan0")
    with s.stage("s") as st:
        st.shim("host", "lan9")
    fails(s, "stage 's'", "unknown lan 'lan9'")
    s = Scenario("x")
    lan = s.lan("lan0")
    with s.stage("s") as st:
        st.shim("n9", lan)
    fails(s, "stage 's'", "unknown node 'n9'")


# -- through the loader ------------------------------------------------------

GOOD_HEAD = "from netlab import Scenario\ns = Scenario('t')\n"


def load_fails(tmp_path: Path, body: str) -> tuple[str, ScenarioError]:
    path = tmp_path / "bad_scenario.py"
    path.write_text(body)
    with pytest.raises(ScenarioError) as info:
        loader.load(str(path))
    msg = str(info.value)
    assert msg.startswith(str(path)), f"{msg!r} does not start with {path}"
    assert info.value.exit_code == 2
    assert isinstance(info.value, NetlabError)
    return msg, info.value


def test_loading_a_script_without_scenario_fails_naming_the_file(tmp_path: Path):
    msg, _ = load_fails(tmp_path, GOOD_HEAD)
    assert "SCENARIO" in msg


def test_loading_a_script_whose_scenario_has_the_wrong_type_fails_naming_the_type(tmp_path: Path):
    msg, _ = load_fails(tmp_path, GOOD_HEAD + "SCENARIO = {'name': 't'}\n")
    assert "dict" in msg and "netlab.Scenario" in msg


def test_loading_a_script_that_raises_fails_naming_the_exception(tmp_path: Path):
    msg, err = load_fails(tmp_path, GOOD_HEAD + "raise RuntimeError('boom')\nSCENARIO = s\n")
    assert "RuntimeError" in msg and "boom" in msg
    assert isinstance(err.__cause__, RuntimeError)


def test_loading_a_script_with_a_syntax_error_fails_naming_file_and_line(tmp_path: Path):
    msg, _ = load_fails(tmp_path, GOOD_HEAD + "s.network('a' driver='bridge')\nSCENARIO = s\n")
    assert msg.startswith(f"{tmp_path / 'bad_scenario.py'}:3:")
    assert "syntax error" in msg


def test_loading_a_script_that_declares_an_invalid_object_fails_with_the_model_message(tmp_path: Path):
    msg, _ = load_fails(tmp_path, GOOD_HEAD + "s.network('a', driver='vlan')\nSCENARIO = s\n")
    assert "network 'a'" in msg and "unknown driver" in msg


def test_loading_a_script_whose_scenario_does_not_validate_fails_with_the_model_message(tmp_path: Path):
    msg, _ = load_fails(tmp_path, GOOD_HEAD + "s.container('c1', 'nosuch')\nSCENARIO = s\n")
    assert "container 'c1'" in msg and "unknown network 'nosuch'" in msg


def test_loading_a_missing_file_fails_naming_it(tmp_path: Path):
    path = tmp_path / "absent.py"
    with pytest.raises(ScenarioError, match="no such scenario file") as info:
        loader.load(str(path))
    assert str(info.value).startswith(str(path))


def test_loading_an_unknown_bundled_name_lists_the_bundled_scenarios():
    with pytest.raises(ScenarioError) as info:
        loader.load("nosuch")
    assert "'nosuch'" in str(info.value) and "bridge" in str(info.value)


def test_loading_a_valid_file_records_its_path_as_source(tmp_path: Path):
    path = tmp_path / "ok.py"
    path.write_text(GOOD_HEAD + "s.container('c1')\nSCENARIO = s\n")
    t = loader.load(str(path))
    assert t.source == str(path)
    assert t.container("c1").node == "host"


def test_a_measurement_of_an_unknown_endpoint_or_probe_is_refused():
    s = Scenario("x")
    s.container("a")
    s.measure("a", "ghost", "tcp:80")
    fails(s, "measurement a -> ghost", "unknown endpoint 'ghost'")
    s = Scenario("x")
    s.container("a")
    s.container("b")
    s.measure("a", "b", "tcp:99999")
    fails(s, "measurement a -> b")


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ({"back": ["api"]}, "aliases on 'back', a network it is not attached to"),
        ({"front": ["not a name"]}, "alias 'not a name'"),
        ({"front": "api"}, "aliases must be a dict"),
    ],
)
def test_bad_aliases_are_refused(aliases: dict[str, object], message: str):
    s = Scenario("x")
    s.network("front")
    s.network("back")
    try:
        s.container("c", "front", aliases=aliases)  # type: ignore[arg-type]
    except InvalidScenario as e:
        assert message in str(e)
        return
    fails(s, "container 'c'", message)


def test_aliases_need_a_network_with_embedded_dns():
    s = Scenario("x")
    s.container("c", "bridge", aliases={"bridge": ["api"]})
    fails(s, "container 'c'", "aliases need a user-defined network")


def test_two_containers_publishing_one_host_port_are_refused():
    s = Scenario("x")
    s.container("a", publish={8080: 80})
    s.container("b", publish={8080: 81, 9053: "53/udp"})
    fails(s, "container 'b'", "host port 8080/tcp of node 'host' is already published by 'a'")
    s = Scenario("x")
    s.container("a", publish={8080: 80})
    s.container("b", publish={8080: "80/udp"})  # another protocol: fine
    s.build()


@pytest.mark.parametrize(
    ("listen", "says"),
    [
        (["icmp"], "a socket is 'tcp:PORT' or 'udp:PORT'"),
        (["tcp:80", "tcp:80"], "twice"),
        (["tcp:99999"], "listen 'tcp:99999'"),
    ],
)
def test_listen_is_a_list_of_distinct_tcp_or_udp_sockets(listen: list[str], says: str) -> None:
    s = Scenario("t")
    s.container("c", s.network("n"), listen=listen)
    with pytest.raises(InvalidScenario, match=re.escape(says)):
        s.build()


def test_listen_must_be_a_list() -> None:
    with pytest.raises(InvalidScenario, match="listen must be a list"):
        Scenario("t").container("c", "n", listen="tcp:80")  # type: ignore[arg-type]
