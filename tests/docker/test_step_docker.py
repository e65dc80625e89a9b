"""`--step` on a real Docker Engine: the backend stops before each network and container it creates."""

from __future__ import annotations

import subprocess


def test_step_pauses_before_each_docker_object(host_and_docker_unchanged: None) -> None:
    proc = subprocess.run(
        ["netlab", "run", "bridge_icc", "--backend", "docker", "--step", "--pause", "0", "--no-color"],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("(do it in 0 s)") == 7  # lan0, two networks, four containers (the stage has no action)
    told = out.split("(do it in 0 s)")
    assert "$ docker network create -d bridge --subnet" in told[1]
    assert "$ docker run -d --name c1 --network closed" in told[3]
