"""A dual-stack scenario on the docker backend: not supported yet, so the run exits 3 naming the network and the way
to run it (--backend netns), before any Docker object is created and without touching the machine's IPv6
forwarding (which Docker would turn on)."""

from __future__ import annotations

import subprocess


def test_a_dual_stack_scenario_on_docker_exits_3_before_creating_anything(host_and_docker_unchanged: None) -> None:
    proc = subprocess.run(
        ["netlab", "run", "bridge_ipv6", "--backend", "docker"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "'front' is dual-stack (ipv6): the docker backend does not create IPv6 networks yet" in proc.stderr
    assert "--backend netns" in proc.stderr
