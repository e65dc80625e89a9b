"""A user bridge's driver options (bridge_options() in tests/shared_scenarios.py) on the netns backend: the bridge
carries the name asked for, the veths the MTU, and a publish naming no address binds the network's
host_binding_ipv4; Docker's rules predict every cell. The docker backend runs the same scenario in
tests/docker/test_bridge_options_docker.py."""

from __future__ import annotations

from hostsnap import HostSnapshot
from keptrun import kept, links, sysctl


def test_name_mtu_and_default_binding(host_unchanged: HostSnapshot) -> None:
    with kept("bridge_options()", "netns") as run:
        assert run["ok"] and run["predicted"], run["summary"]
        eth0 = [line for line in links(run["netns"]["c"]) if " eth0@" in line]
        assert len(eth0) == 1 and " mtu 1400 " in eth0[0]
        assert [line for line in links(run["netns"]["host"]) if ": nlbropts: " in line and " mtu 1400 " in line]
        assert [line for line in links(run["netns"]["d"]) if " eth0@" in line and " mtu 1500 " in line]
        assert sysctl(run["netns"]["c"], "net.ipv4.conf.eth0.arp_ignore") == "1"
