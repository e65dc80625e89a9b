"""No traffic off the machine: the checker of the uplink capture (tests/uplinkcap.py), on frames built by hand.

The capture itself runs as the fixture `nothing_off_machine` (tests/conftest.py) around every test that runs a
bundled scenario: tests/netns/test_scenarios.py (the host kernel's), tests/netns/test_drivers.py (user-mode Linux's:
ipvlan, ipvlan_l2, macvlan_vlan) and tests/docker/test_parity.py (every one Docker runs here, on both backends)."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

from uplinkcap import UplinkCapture

from netlab import loader

TESTS = Path(__file__).resolve().parent.parent
#: the tests that run the bundled scenarios, each under the uplink capture
UNDER_CAPTURE = {
    "netns/test_scenarios.py": "test_bundled_scenario_passes_and_leaves_host_unchanged",
    "netns/test_drivers.py": "test_ipvlan_scenarios_pass_in_user_mode_linux",
    "docker/test_parity.py": "test_docker_and_netns_agree_cell_for_cell",
    "docker/test_parity.py:multi": "test_swarm_of_private_daemons_agrees_with_netns",
}


def _scenarios_under_capture(relative: str, name: str) -> set[str]:
    spec = importlib.util.spec_from_file_location(f"_offm_{name}", TESTS / relative.split(":")[0])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    test = getattr(module, name)
    assert "nothing_off_machine" in inspect.signature(test).parameters, f"{relative}::{name} runs without the capture"
    # a parameter set's scenario is its first value (("ipvlan_l2", "29"): the scenario, then what else varies)
    return {
        v[0] if isinstance(v, tuple) else v
        for mark in getattr(test, "pytestmark", [])
        if mark.name == "parametrize"
        for v in mark.args[1]
    }


def test_every_bundled_scenario_runs_under_the_uplink_capture_on_each_backend() -> None:
    netns = _scenarios_under_capture("netns/test_scenarios.py", UNDER_CAPTURE["netns/test_scenarios.py"])
    netns |= _scenarios_under_capture("netns/test_drivers.py", UNDER_CAPTURE["netns/test_drivers.py"])
    docker = set()
    for relative in ("docker/test_parity.py", "docker/test_parity.py:multi"):
        docker |= _scenarios_under_capture(relative, UNDER_CAPTURE[relative])
    bundled = {info.name for info in loader.bundled()}
    assert netns == bundled
    # on docker: every one but those needing link kinds this kernel lacks (ipvlan, 802.1q: exit 3, tested apart)
    assert {"bridge", "bridge_icc", "bridge_internal", "bridge_nonat", "host", "none", "macvlan", "overlay"} <= docker
    assert docker <= bundled


def test_the_uplink_check_flags_pool_addresses_foreign_macs_and_bare_dns_names() -> None:
    """The checker itself, on frames built by hand (none is sent anywhere)."""
    import struct

    with UplinkCapture("lo") as cap:
        own, other = cap.mac, bytes.fromhex("02420a000002")

        def ipv4(src: str, dst: str, proto: int = 1, payload: bytes = b"") -> bytes:
            head = struct.pack(
                "!BBHHHBBH4s4s",
                0x45,
                0,
                20 + len(payload),
                0,
                0,
                64,
                proto,
                0,
                bytes(map(int, src.split("."))),
                bytes(map(int, dst.split("."))),
            )
            return head + payload

        def frame(src_mac: bytes, ethertype: int, body: bytes) -> bytes:
            return b"\xff" * 6 + src_mac + struct.pack("!H", ethertype) + body

        dns = (
            struct.pack("!HHHH", 5353, 53, 8 + 17, 0)
            + b"\x00\x01\x01\x00\x00\x01"
            + b"\x00" * 6
            + b"\x02c1\x00\x00\x01\x00\x01"
        )
        arp = (
            b"\x00\x01\x08\x00\x06\x04\x00\x01" + other + bytes([198, 18, 0, 2]) + b"\x00" * 6 + bytes([198, 18, 0, 1])
        )
        cap._check(frame(own, 0x0800, ipv4("192.0.2.2", "192.0.2.1")), 4)  # the machine's own traffic: fine
        assert cap.violations == []
        cap._check(frame(own, 0x0800, ipv4("198.18.0.2", "192.0.2.1")), 4)
        cap._check(frame(other, 0x0800, ipv4("192.0.2.2", "192.0.2.1")), 4)
        cap._check(frame(own, 0x0806, arp), 0)
        cap._check(frame(own, 0x0800, ipv4("192.0.2.2", "192.0.2.1", 17, dns)), 4)
        assert len(cap.violations) == 5, cap.violations  # pool source; foreign MAC; ARP sender and target; DNS
