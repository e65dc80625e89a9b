"""A user bridge's driver options (bridge_options() in tests/shared_scenarios.py) on a real Docker 20.10: the
bridge carries the name asked for, the container's veth the MTU, a publish naming no address binds the
network's host_binding_ipv4, and every cell equals the netns backend's."""

from __future__ import annotations

import os

from keptrun import kept, links, sysctl


def test_docker_applies_the_options_as_netns_does(host_and_docker_unchanged: None) -> None:
    name = f"nlbo{os.getpid() % 100000}"
    with kept(f"bridge_options({name!r})", "docker") as docker:
        assert docker["ok"] and docker["predicted"], docker["summary"]
        assert [line for line in links(docker["netns"]["c"]) if " eth0@" in line and " mtu 1400 " in line]
        assert [line for line in links(docker["netns"]["host"]) if f": {name}: " in line]
        assert sysctl(docker["netns"]["c"], "net.ipv4.conf.eth0.arp_ignore") == "1"
    with kept(f"bridge_options({name!r})", "netns") as netns:
        assert netns["cells"] == docker["cells"]
