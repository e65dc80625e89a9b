"""The emulated userland proxy (--userland-proxy on|off) on real namespaces: the proxy scenario (proxy() in
tests/shared_scenarios.py) exits 0 under every profile with the proxy on and off, the cells that depend on it
change as Docker's do, the kernel holds what Docker sets without the proxy (hairpin ports, route_localnet) and
the relay really opens a connection from the node to the container (its SYN leaves the node's bridge from the
gateway address)."""

from __future__ import annotations

import pytest
from shared_scenarios import BACK_GW, FRONT_GW
from shared_scenarios import proxy as scenario

from netlab import nsthread
from netlab.backends.base import Deployment
from netlab.backends.netns.backend import NetnsBackend
from netlab.model.results import Observation
from netlab.runner import run_scenario, run_topology

pytestmark = pytest.mark.usefixtures("host_unchanged")


def _cell(result: object, src: str, probe: str, address: str) -> str:
    return next(
        o.outcome.value
        for o in result.observations  # type: ignore[attr-defined]
        if o.src == src and o.dst == "host" and str(o.probe) == probe and str(o.address) == address
    )


@pytest.mark.parametrize(
    ("engine", "proxy"), [("20.10", "on"), ("20.10", "off"), ("28", "on"), ("28", "off"), ("29", "off")]
)
def test_the_proxy_scenario_passes_on_every_profile_with_the_proxy_on_and_off(engine: str, proxy: str) -> None:
    result = run_scenario(scenario(), "netns", engine=engine, userland_proxy=proxy, forward_policy="drop")
    assert result.ok, result.verdict.summary()
    assert result.environment["userland_proxy"] == proxy
    # o's route to web's published port: docker-proxy, else DNAT then isolation (before 29)
    expected = "reachable" if proxy == "on" or engine == "29" else "unreachable"
    assert _cell(result, "o", "tcp:8080", BACK_GW) == expected
    assert _cell(result, "o", "udp:9053", BACK_GW) == expected


def test_29_nftables_runs_the_proxy_too() -> None:
    result = run_scenario(scenario(), "netns", engine="29-nftables", userland_proxy="on")
    assert result.ok, result.verdict.summary()
    assert _cell(result, "o", "tcp:8080", BACK_GW) == "reachable"


def test_without_the_proxy_the_kernel_holds_dockers_hairpin_settings() -> None:
    seen: dict[str, str] = {}

    def grab(dep: Deployment, index: int, obs: list[Observation]) -> None:
        host = dep.endpoints["host"].netns
        assert host is not None
        front = dep.topology.network("front").bridge_name
        assert front is not None
        seen["bridge"] = nsthread.run(host, ["bridge", "-d", "link", "show"])
        seen["route_localnet"] = nsthread.read_sysctl(host, f"net.ipv4.conf.{front}.route_localnet")
        seen["proxies"] = str(len(dep.proxies))

    backend = NetnsBackend(engine="20.10", userland_proxy="off")
    result = run_topology(scenario().build(), backend, on_stage=grab)
    assert result.ok, result.verdict.summary()
    # every container's bridge port (web, c, o), as Docker sets them without the proxy
    assert seen["bridge"].count("hairpin on") == 3 and "hairpin off" not in seen["bridge"], seen["bridge"]
    assert seen["route_localnet"] == "1"
    assert seen["proxies"] == "0"


def test_the_relay_connects_from_the_node_to_the_container(tmp_path) -> None:
    """With the proxy on, c's connection to the host's port 8080 ends at the node; a second connection, from the
    gateway address, reaches web:80 (the pcap of the front bridge holds its SYN)."""
    from scapy.all import IP, TCP, rdpcap  # type: ignore[import-untyped]

    result = run_scenario(scenario(), "netns", engine="20.10", userland_proxy="on", pcap=str(tmp_path))
    assert result.ok, result.verdict.summary()
    assert _cell(result, "c", "tcp:8080", FRONT_GW) == "reachable"
    web = str(next(a.address for a in scenario().build().container("web").attachments))
    syns = set()
    for pcap in tmp_path.rglob("*front*.pcap"):
        for p in rdpcap(str(pcap)):
            if IP in p and TCP in p and p[TCP].flags == "S" and p[TCP].dport == 80:
                syns.add((p[IP].src, p[IP].dst))
    assert (FRONT_GW, web) in syns, syns
