"""Fault injection: `netlab run` stopped at named points (netlab/faults.py) on each backend.

SIGKILL at any point, then `netlab clean`: the host is exactly as before (links, namespaces, netns mounts,
routes, iptables-save byte for byte; on the docker backend also its containers, networks, volumes, images,
the swarm state of the machine's daemon and the dockerd processes). SIGINT and SIGTERM at the same points:
the run cleans up by itself and `netlab clean` finds nothing. During teardown signals are blocked (the
teardown finishes first), so only SIGKILL is injected there. docs/reliability.md has the matrix."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hostsnap import HostSnapshot

KILL = signal.SIGKILL
SIGNALS = [signal.SIGKILL, signal.SIGINT, signal.SIGTERM]

#: (point[:n-th time], scenario): every stage of a run, from the first namespace to the teardown
NETNS_POINTS = [
    "netns.created:1",
    "netns.created:4",
    "netns.created:7",
    "netns.lans",
    "netns.network:1",
    "netns.network:3",
    "netns.container:1",
    "netns.container:3",
    "netns.firewall",
    "netns.dns",
    "runner.deployed",
    "runner.capture",
    "probes.responders",
    "runner.measure",
    "runner.evidence",
    "runner.stage",
    "netns.action",
    "runner.capture:2",
    "runner.evidence:2",
]
NETNS_TEARDOWN = ["netns.teardown:1", "netns.teardown:4"]

DOCKER_POINTS = [
    "docker.uplinks",
    "docker.resolver",
    "docker.network:1",
    "docker.network:2",
    "docker.container.create:1",
    "docker.container.create:2",
    "docker.container.create:4",
    "docker.container.start:1",
    "docker.container.start:2",
    "docker.container.start:4",
    "runner.deployed",
    "runner.capture",
    "probes.responders",
    "runner.measure",
    "runner.evidence",
    "runner.stage",
    "runner.capture:2",
    "runner.evidence:2",
]
DOCKER_TEARDOWN = ["docker.teardown:1", "docker.teardown:3"]
SWARM_POINTS = ["docker.daemon:1", "docker.daemon:2", "docker.swarm.init", "docker.swarm.join"]


def _docker_state() -> str:
    out = []
    for argv in (
        ["docker", "ps", "-a", "--format", "{{.Names}} {{.Image}}"],
        ["docker", "network", "ls", "--format", "{{.Name}} {{.Driver}}"],
        ["docker", "volume", "ls", "-q"],
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        ["pgrep", "-c", "-x", "dockerd"],
    ):
        out.append(subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout)
    return "\n".join(out)


def _paused(tmp_path: Path, point: str, argv: list[str]) -> subprocess.Popen[str]:
    ready = tmp_path / "ready"
    env = dict(os.environ, NETLAB_FAULT=point, NETLAB_FAULT_READY=str(ready))
    proc = subprocess.Popen(
        ["netlab", "run", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 180
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before reaching {point}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"the run never reached {point}"
        time.sleep(0.05)
    return proc


def _inject(tmp_path: Path, point: str, sig: signal.Signals, argv: list[str], docker: bool) -> None:
    before, state = HostSnapshot.take(), _docker_state() if docker else ""
    proc = _paused(tmp_path, point, argv)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode != 0
    clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=180)
    assert clean.returncode == 0, clean.stderr
    if sig == KILL:
        assert "removed" in clean.stdout, clean.stdout  # the run could not clean up: clean did
    else:
        assert "interrupted" in err, err
        assert "nothing to clean" in clean.stdout, clean.stdout  # it cleaned up by itself
    after = HostSnapshot.take()
    assert after.diff(before) == [], before.describe(after)
    if docker:
        assert _docker_state() == state


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("point", NETNS_POINTS)
def test_netns(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    _inject(tmp_path, point, sig, ["bridge"], docker=False)


@pytest.mark.parametrize("point", NETNS_TEARDOWN)
def test_netns_teardown(tmp_path: Path, point: str) -> None:
    _inject(tmp_path, point, KILL, ["bridge"], docker=False)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("point", DOCKER_POINTS)
def test_docker(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    _inject(tmp_path, point, sig, ["bridge", "--backend", "docker"], docker=True)


@pytest.mark.parametrize("point", DOCKER_TEARDOWN)
def test_docker_teardown(tmp_path: Path, point: str) -> None:
    _inject(tmp_path, point, KILL, ["bridge", "--backend", "docker"], docker=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("point", SWARM_POINTS)
def test_docker_swarm(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    """Private daemons in node namespaces, joined into a swarm: none of them, and no swarm, may survive."""
    _inject(tmp_path, point, sig, ["overlay", "--backend", "docker"], docker=True)
