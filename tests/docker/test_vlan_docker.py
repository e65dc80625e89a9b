"""macvlan on 802.1Q sub-interfaces (the bundled macvlan_vlan) on the docker backend: Docker creates `<uplink>.50`
itself; on a kernel without 8021q the run exits 3 naming it and the way to run it, before anything is created."""

from __future__ import annotations

import subprocess

from netlab.kernel import features


def test_docker_makes_the_sub_interfaces_or_the_run_says_what_is_missing(host_and_docker_unchanged: None) -> None:
    proc = subprocess.run(
        ["netlab", "run", "macvlan_vlan", "--backend", "docker", "--check", "predicted"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if features.link_kinds(frozenset({"vlan"})).get("vlan") == "":
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "vlan: this kernel cannot create vlan links" in proc.stderr and "--kernel uml" in proc.stderr
