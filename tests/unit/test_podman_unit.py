"""Podman as an engine, without running it: what its Docker API cannot do is refused by name, and the service gets
a configuration of the run's own."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from netlab import loader
from netlab.backends.docker import podman


def test_refusals_name_the_driver_or_option_podman_lacks() -> None:
    assert "no overlay driver" in podman.refusal(loader.load("overlay"))
    assert "com.docker.network.bridge.enable_icc" in podman.refusal(loader.load("bridge_icc"))
    assert "enable_ip_masquerade" in podman.refusal(loader.load("bridge_nonat"))
    for name in ("bridge", "bridge_ipv6", "bridge_internal", "host", "none", "macvlan", "macvlan_private"):
        assert podman.refusal(loader.load(name)) == "", name


def test_the_service_configuration_names_the_run_s_resolver_and_a_default_network_in_the_pool() -> None:
    conf = podman._containers_conf(IPv4Address("198.19.192.2"), IPv4Network("198.19.52.0/24"))
    assert 'dns_servers = ["198.19.192.2"]' in conf
    assert 'default_subnet = "198.19.52.0/24"' in conf and 'network_backend = "cni"' in conf
    assert IPv4Network("198.19.52.0/24").subnet_of(IPv4Network("198.18.0.0/15"))


def test_containers_get_the_service_s_own_limits() -> None:
    import os

    got = {u["Name"]: (u["Soft"], u["Hard"]) for u in podman.limits(os.getpid())}
    assert set(got) == {"nofile", "nproc"} and all(soft <= hard for soft, hard in got.values())
