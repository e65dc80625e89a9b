"""No traffic off the machine on the docker backend: every bundled scenario Docker can run on this kernel
(bridge and its variants, host, none, macvlan, overlay on a swarm of private daemons) runs while the
machine's real uplink is captured; not one frame there carries a pool address, a MAC netlab or Docker made
for the run, or a container's DNS question."""

from __future__ import annotations

import subprocess

import pytest
from uplinkcap import UplinkCapture, uplink

from netlab import loader
from netlab.kernel import features


def _runs_on_docker_here(name: str) -> bool:
    needed = frozenset(features.link_kinds_needed(loader.load(name)))
    return not any(features.link_kinds(needed).values())


def test_the_bundled_scenarios_send_nothing_off_the_machine_on_docker(host_and_docker_unchanged: None) -> None:
    ifname = uplink()
    if ifname is None:
        pytest.fail("this machine has no default route: there is no uplink to watch")
    names = [info.name for info in loader.bundled() if _runs_on_docker_here(info.name)]
    assert {"bridge", "macvlan", "overlay", "host"} <= set(names)
    with UplinkCapture(ifname) as cap:
        for name in names:
            proc = subprocess.run(
                ["netlab", "run", name, "--backend", "docker", "--no-color"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert proc.returncode == 0, (name, proc.stdout[-2000:], proc.stderr)
    assert cap.violations == [], cap.violations[:20]
    # the capture is not blind: whenever the kernel counted frames on the uplink meanwhile, it saw some too
    assert cap.frames >= min(cap.kernel_counted, 1), (cap.frames, cap.kernel_counted)
