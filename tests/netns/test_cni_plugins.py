"""The CNI protocol against the distribution's real reference plugins (containernetworking-plugins): a bridge
network's list (bridge, portmap, host-local) ADDed for two containers into namespaces this test made, real
packets between them, the objects and rules the plugins made in the node's namespace, and DEL taking them back;
a macvlan child on a parent in the node; the plugins' own errors, a hung plugin and a malformed result, each
a PluginError (exit 3) naming the plugin."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from hostsnap import HostSnapshot

from netlab import nsthread
from netlab.backends import naming
from netlab.backends.cni import conflist, plugins
from netlab.backends.cni.plugins import Attachment, PluginError
from netlab.errors import EnvironmentProblem
from netlab.model.results import Outcome
from netlab.model.topology import Driver, Network, ProbeKind
from netlab.probes.sweep import Shot, sweep

FRONT = Network(
    "front",
    Driver.BRIDGE,
    subnet=IPv4Network("198.18.200.0/24"),
    gateway=IPv4Address("198.18.200.1"),
    bridge_name="br-cnitest",
)
LAN = Network(
    "lan",
    Driver.MACVLAN,
    subnet=IPv4Network("198.18.201.0/24"),
    gateway=IPv4Address("198.18.201.1"),
    parent="eth0",
)


@pytest.fixture
def spaces(host_unchanged: HostSnapshot) -> Iterator[dict[str, str]]:
    """A node and two containers, namespaces of a run id of the test's own; removed whatever happens."""
    run = naming.new_run_id()
    names = {obj: naming.ns_name(run, obj) for obj in ("node", "c1", "c2")}
    made = {}
    try:
        for obj, name in names.items():
            made[obj] = nsthread.create(name)
        yield made
    finally:
        for name in names.values():
            nsthread.remove(name)


def _path() -> str:
    return plugins.plugin_dir(["bridge", "portmap", "firewall", "host-local", "macvlan"])


def test_a_bridge_network_added_for_two_containers_carries_packets_and_is_deleted_again(
    spaces: dict[str, str], tmp_path: Path
) -> None:
    path, lock = _path(), str(tmp_path / "xtables.lock")
    conf = conflist.build(FRONT, None, str(tmp_path / "leases"))
    assert [p["type"] for p in conf["plugins"]] == ["bridge", "portmap", "firewall"]
    c1 = Attachment("c1", spaces["c1"], "eth0", spaces["node"], {"IP": "198.18.200.2"})
    c2 = Attachment(
        "c2",
        spaces["c2"],
        "eth0",
        spaces["node"],
        {"IP": "198.18.200.3"},
        {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]},
    )
    r1 = plugins.add(conf, c1, path, lock)
    r2 = plugins.add(conf, c2, path, lock)
    assert plugins.addresses(r1) == ["198.18.200.2/24"] and plugins.addresses(r2) == ["198.18.200.3/24"]
    assert r1["interfaces"][0]["name"] == "br-cnitest"  # bridge, host veth, the container's eth0

    # real packets: c1 -> c2 across the plugin's bridge, and c1 -> its gateway (the bridge's address)
    for target in ("198.18.200.3", "198.18.200.1"):
        answer = sweep(spaces["c1"], [Shot(0, ProbeKind.ICMP, IPv4Address(target))], 1.0)[0]
        assert answer.outcome is Outcome.REACHABLE, (target, answer.detail)

    # host-side objects are in the node's namespace: the bridge with the gateway, forwarding, the rules
    assert "inet 198.18.200.1/24" in nsthread.run(spaces["node"], ["ip", "-o", "addr", "show", "br-cnitest"])
    assert nsthread.read_sysctl(spaces["node"], "net.ipv4.ip_forward") == "1"
    rules = nsthread.run(spaces["node"], ["iptables-save", "-t", "nat"])
    assert 'name: \\"front\\" id: \\"c1\\"' in rules or 'name: "front" id: "c1"' in rules, rules
    assert re.search(r"-A CNI-DN-\w+ .*--dport 8080 -j DNAT --to-destination 198.18.200.3:80", rules), rules
    # the firewall plugin: each container's traffic accepted in FORWARD (for a host whose policy is DROP)
    forward = nsthread.run(spaces["node"], ["iptables-save", "-t", "filter"])
    assert '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD' in forward, forward
    assert "-A CNI-FORWARD -s 198.18.200.2/32 -j ACCEPT" in forward, forward
    assert sorted(os.listdir(tmp_path / "leases" / "front")) == [
        "198.18.200.2",
        "198.18.200.3",
        "last_reserved_ip.0",
        "lock",
    ]

    # DEL gives back what ADD made: the masquerade chains and the port's DNAT chain, the leases, the veths
    assert plugins.delete(conf, c2, r2, path, lock) == []
    assert plugins.delete(conf, c1, r1, path, lock) == []
    rules = nsthread.run(spaces["node"], ["iptables-save", "-t", "nat"])
    assert "front" not in rules and "CNI-DN-" not in rules, rules
    forward = nsthread.run(spaces["node"], ["iptables-save", "-t", "filter"])
    assert "198.18.200." not in forward, forward  # the firewall plugin's per-container rules, its chains stay
    assert not {"198.18.200.2", "198.18.200.3"} & set(os.listdir(tmp_path / "leases" / "front"))
    assert "eth0" not in nsthread.run(spaces["c1"], ["ip", "-o", "link"])


def test_a_macvlan_child_gets_its_address_on_the_parent_in_the_node(spaces: dict[str, str], tmp_path: Path) -> None:
    path, lock = _path(), str(tmp_path / "xtables.lock")
    nsthread.run(spaces["node"], ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"])
    nsthread.run(spaces["node"], ["ip", "link", "set", "eth0", "up"])
    conf = conflist.build(LAN, "eth0", str(tmp_path / "leases"))
    att = Attachment("m1", spaces["c1"], "eth0", spaces["node"], {"IP": "198.18.201.5"})
    result = plugins.add(conf, att, path, lock)
    assert plugins.addresses(result) == ["198.18.201.5/24"]
    link = nsthread.run(spaces["c1"], ["ip", "-d", "-o", "link", "show", "eth0"])
    assert "macvlan mode bridge" in link, link
    assert plugins.delete(conf, att, result, path, lock) == []
    assert "eth0" not in nsthread.run(spaces["c1"], ["ip", "-o", "link"])


def test_a_plugin_s_own_error_is_reported_with_its_code(spaces: dict[str, str], tmp_path: Path) -> None:
    conf = conflist.build(FRONT, None, str(tmp_path / "leases"))
    att = Attachment("c1", spaces["c1"], "eth0", spaces["node"], {"IP": "198.18.99.9"})  # not in the subnet
    with pytest.raises(PluginError, match=r"CNI plugin 'bridge' \(ADD, network 'front', container 'c1'\) failed: .*"):
        plugins.add(conf, att, _path(), str(tmp_path / "xtables.lock"))
    plugins.delete(conf, att, None, _path(), str(tmp_path / "xtables.lock"))  # DEL follows a failed ADD too


def _fake(tmp_path: Path, script: str) -> str:
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    f = d / "fake"
    f.write_text("#!/bin/sh\n" + script)
    f.chmod(f.stat().st_mode | stat.S_IXUSR)
    return str(d)


FAKE = {"cniVersion": "1.0.0", "name": "x", "plugins": [{"type": "fake"}]}


def test_a_malformed_result_and_a_hung_plugin_end_as_plugin_errors(spaces: dict[str, str], tmp_path: Path) -> None:
    att = Attachment("c1", spaces["c1"], "eth0", spaces["node"])
    lock = str(tmp_path / "xtables.lock")
    with pytest.raises(PluginError, match="printed no CNI result \\(not JSON\\): 'hello'"):
        plugins.add(FAKE, att, _fake(tmp_path, "cat >/dev/null; echo hello\n"), lock)
    with pytest.raises(PluginError, match=r"did not answer within 0\.5 s and was stopped"):
        plugins.call("ADD", FAKE["plugins"][0], att, _fake(tmp_path, "sleep 30\n"), lock, timeout=0.5)
    err = json.dumps({"code": 7, "msg": "bad config", "details": "no bridge"})
    with pytest.raises(PluginError, match=r"bad config: no bridge \(CNI error 7, invalid network configuration\)"):
        plugins.add(FAKE, att, _fake(tmp_path, f"cat >/dev/null; echo '{err}'; exit 1\n"), lock)
    assert issubclass(PluginError, EnvironmentProblem) and PluginError.exit_code == 3


def test_missing_plugins_name_the_package(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match=r"bridge.*apt-get install containernetworking-plugins"):
        plugins.plugin_dir(["bridge"], dirs=[str(tmp_path)])


def test_networks_cni_cannot_express_are_refused_before_anything_runs() -> None:
    internal = Network("i", Driver.BRIDGE, FRONT.subnet, FRONT.gateway, internal=True, bridge_name="br-x")
    assert "internal" in conflist.expressible(internal)
    assert "overlay driver" in conflist.expressible(Network("o", Driver.OVERLAY, FRONT.subnet, FRONT.gateway))
    assert "without a parent" in conflist.expressible(Network("v", Driver.IPVLAN, FRONT.subnet, FRONT.gateway))
    assert conflist.expressible(FRONT) == "" and conflist.expressible(LAN) == ""


def test_an_ipvlan_network_with_two_subnets_is_one_range_set_in_its_mode(tmp_path: Path) -> None:
    """Docker's `--subnet A --subnet B`: one range set holding both (a container gets one address, from the range
    of the one asked for), each range with Docker's gateway; the plugin in the network's ipvlan mode."""
    net = Network(
        "l3",
        Driver.IPVLAN,
        IPv4Network("198.18.210.0/24"),
        IPv4Address("198.18.210.1"),
        "eth0",
        options={"ipvlan_mode": "L3"},
        more_subnets=(IPv4Network("198.18.211.0/24"),),
    )
    conf = conflist.build(net, "eth0", str(tmp_path))
    plugin = conf["plugins"][0]
    assert [p["type"] for p in conf["plugins"]] == ["ipvlan"]
    assert (plugin["master"], plugin["mode"]) == ("eth0", "l3")
    assert plugin["ipam"]["ranges"] == [
        [
            {"subnet": "198.18.210.0/24", "gateway": "198.18.210.1"},
            {"subnet": "198.18.211.0/24", "gateway": "198.18.211.1"},
        ]
    ]
    assert conflist.build(LAN, "eth0", str(tmp_path))["plugins"][0]["mode"] == "bridge"  # Docker's default
