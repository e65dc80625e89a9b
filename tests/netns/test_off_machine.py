"""No traffic off the machine: every bundled scenario runs on the netns backend (the ipvlan ones in
user-mode Linux where the host kernel has no ipvlan) while the machine's real uplink is captured; not one
frame there carries a pool address, a MAC netlab made, or a container's DNS question."""

from __future__ import annotations

import subprocess

import pytest
from hostsnap import HostSnapshot
from uplinkcap import UplinkCapture, uplink

from netlab import loader
from netlab.kernel import features


def _kernel_args(name: str) -> list[str]:
    topology = loader.load(name)
    missing = [k for k, why in features.link_kinds(frozenset(features.link_kinds_needed(topology))).items() if why]
    return ["--kernel", "uml"] if missing else []


def test_the_bundled_scenarios_send_nothing_off_the_machine(host_unchanged: HostSnapshot) -> None:
    ifname = uplink()
    if ifname is None:
        pytest.fail("this machine has no default route: there is no uplink to watch")
    names = [info.name for info in loader.bundled()]
    assert len(names) >= 11
    with UplinkCapture(ifname) as cap:
        for name in names:
            proc = subprocess.run(
                ["netlab", "run", name, *_kernel_args(name), "--no-color"], capture_output=True, text=True, timeout=300
            )
            assert proc.returncode == 0, (name, proc.stdout[-2000:], proc.stderr)
    assert cap.violations == [], cap.violations[:20]
    # the capture is not blind: whenever the kernel counted frames on the uplink meanwhile, it saw some too
    assert cap.frames >= min(cap.kernel_counted, 1), (cap.frames, cap.kernel_counted)


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
