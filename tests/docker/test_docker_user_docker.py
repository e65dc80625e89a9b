"""DOCKER-USER rules (Scenario.docker_user) on a real Docker 20.10: inserted into the machine's own chain with the
run's comment, the same cells as the netns backend's emulation, and gone afterwards; after a run killed with
SIGKILL, `netlab clean` removes them by their exact text (docker_user() in tests/shared_scenarios.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from hostsnap import HostSnapshot
from shared_scenarios import docker_user

from netlab.runner import run_scenario, run_topology

TESTS = Path(__file__).resolve().parents[1]


def _user_chain() -> list[str]:
    out = subprocess.run(["iptables", "-w", "-S", "DOCKER-USER"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_the_rules_are_docker_s_own_chain_s_and_leave_with_the_run(host_and_docker_unchanged: None) -> None:
    seen: dict[str, list[str]] = {}

    def during(dep: Any, index: int, observations: Any) -> None:
        seen[dep.topology.stages[index].name] = _user_chain()

    docker = run_topology(docker_user().build(), "docker", on_stage=during)
    netns = run_scenario(docker_user(), backend="netns", engine="20.10")
    assert docker.ok, docker.verdict.summary()
    cells = {(o.stage, o.src, o.dst, str(o.probe)): o.outcome for o in docker.observations}
    assert cells == {(o.stage, o.src, o.dst, str(o.probe)): o.outcome for o in netns.observations}
    front = docker.topology.network("front").subnet
    mine = [r for r in seen["blocked"] if f"netlab:{docker.run}" in r]
    assert mine[0].startswith(f"-A DOCKER-USER -d {front} -p tcp -m tcp --dport 80 -m comment --comment")
    assert len(mine) == 2 and not [r for r in seen["initial"] if "netlab:" in r]
    assert not [r for r in _user_chain() if f"netlab:{docker.run}" in r]


def test_netlab_clean_removes_the_rules_of_a_killed_run(tmp_path: Path, host_and_docker_unchanged: None) -> None:
    file = tmp_path / "dockeruser.py"
    file.write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom shared_scenarios import docker_user\n"
        "SCENARIO = docker_user()\n"
    )
    before = HostSnapshot.take()
    ready = tmp_path / "ready"
    env = dict(os.environ, NETLAB_FAULT="runner.measure:2", NETLAB_FAULT_READY=str(ready))
    proc = subprocess.Popen(
        ["netlab", "run", str(file), "--backend", "docker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 180
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached its second stage"
            time.sleep(0.05)
        assert len([r for r in _user_chain() if "netlab:" in r]) == 2  # the blocked stage's rules are in
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)
        clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=180)
    assert clean.returncode == 0, clean.stderr
    assert "iptables rule DOCKER-USER" in clean.stdout or "removed" in clean.stdout, clean.stdout
    assert not [r for r in _user_chain() if "netlab:" in r]
    assert HostSnapshot.take().diff(before) == []
