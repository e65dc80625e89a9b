"""Fault injection: `netlab run` stopped at named points (netlab/faults.py) on each backend.

SIGKILL at any point, then `netlab clean`: the host is exactly as before (links, namespaces, netns mounts,
routes, iptables-save byte for byte; on the docker backend also its containers, networks, volumes, images,
the swarm state of the machine's daemon and the dockerd processes). SIGINT and SIGTERM at the same points:
the run cleans up by itself and `netlab clean` finds nothing. During teardown signals are blocked (the
teardown finishes first), so only SIGKILL is injected there. docs/reliability.md has the matrix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hostsnap import HostSnapshot

KILL = signal.SIGKILL
#: every point gets SIGKILL (the crash path: `netlab clean` finishes the run) and SIGTERM (the interrupt path: the
#: run cleans up by itself); SIGINT takes the same path as SIGTERM (KeyboardInterrupt instead of Interrupted, the
#: same `finally` blocks), so it is injected at one point of each phase only (INTERRUPT_POINTS)
SIGNALS = [signal.SIGKILL, signal.SIGTERM]

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
NETNS_INTERRUPT = ["netns.network:1", "runner.measure", "netns.action", "runner.evidence:2"]

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
#: the podman backend (the docker backend's code on Podman's service): none of its points is named docker, which would
#: put it in the docker part of tests/run.sh, where it needs nothing of Docker's
PODMAN_POINTS = ["podman.service", "runner.deployed", "runner.measure"]
DOCKER_INTERRUPT = ["docker.network:1", "docker.container.start:2", "runner.measure", "runner.evidence:2"]
SWARM_POINTS = ["docker.daemon:1", "docker.daemon:2", "docker.swarm.init", "docker.swarm.join"]
#: the private daemons' containers: each one's containerd shim must not outlive the run
OVERLAY_POINTS = [
    "docker.container.create:1",
    "docker.container.start:1",
    "docker.container.start:2",
    "runner.deployed",
    "runner.measure",
]


#: the cni backend: before a container's first ADD, between a network's plugins (bridge done, portmap not yet),
#: after a later ADD, then the run's phases; its teardown DELs first
CNI_POINTS = ["cni.add:1", "cni.plugin:2", "cni.add:3", "runner.deployed", "runner.measure", "runner.evidence"]
CNI_TEARDOWN = ["cni.teardown:1", "cni.teardown:3"]


def _docker_state() -> str:
    out = []
    for argv in (
        ["docker", "ps", "-a", "--format", "{{.Names}} {{.Image}}"],
        ["docker", "network", "ls", "--format", "{{.Name}} {{.Driver}}"],
        ["docker", "volume", "ls", "-q"],
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
    ):
        out.append(subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout)
    out.append(f"{_live_dockerds()} dockerd")
    return "\n".join(out)


def _live_dockerds() -> int:
    """dockerd processes that are running (a killed one stays a zombie until init reaps it: not counted)."""
    n = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, _, tail = stat.read_text().rpartition(")")
            comm, state = head.split("(", 1)[1], tail.split()[0]
        except (OSError, IndexError):
            continue
        n += comm == "dockerd" and state != "Z"
    return n


def _paused(tmp_path: Path, point: str, argv: list[str]) -> subprocess.Popen[str]:
    ready = tmp_path / "ready"
    env = dict(os.environ, NETLAB_FAULT=point, NETLAB_FAULT_READY=str(ready))
    proc = subprocess.Popen(
        ["netlab", "run", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 180
    try:
        while not ready.exists():
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before reaching {point}: {proc.communicate()}")
            assert time.monotonic() < deadline, f"the run never reached {point}"
            time.sleep(0.05)
    except BaseException:
        _leave_nothing(proc)
        raise
    return proc


def _inject(
    tmp_path: Path,
    point: str,
    sig: signal.Signals,
    argv: list[str],
    docker: bool,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Stop the run at `point`, do `meanwhile` (if any), signal it, `netlab clean`: the host snapshot (links,
    namespaces, routes, rules, root sysctls, processes in other namespaces, netlab's cgroups) as before."""
    before, state = HostSnapshot.take(), _docker_state() if docker else ""
    proc = _paused(tmp_path, point, argv)
    try:
        if meanwhile is not None:
            meanwhile()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=180)
        assert proc.returncode != 0
        clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=180)
        assert clean.returncode == 0, clean.stderr
    except BaseException:
        _leave_nothing(proc)  # a second `netlab clean` only where the first never ran or failed
        raise
    if sig == KILL:
        assert "removed" in clean.stdout, clean.stdout  # the run could not clean up: clean did
    else:
        assert "interrupted" in err, err
        assert "nothing to clean" in clean.stdout, clean.stdout  # it cleaned up by itself
    after = HostSnapshot.take()
    assert after.diff(before) == [], before.describe(after)
    if docker:
        assert _docker_state() == state


def _leave_nothing(proc: subprocess.Popen[str]) -> None:
    """Whatever happened, this test's run is gone and cleaned before the test reports: a failure here must
    not become every later test's failure (their snapshots would see this run's objects vanish)."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=60)
    subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("point", NETNS_POINTS)
def test_netns(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    _inject(tmp_path, point, sig, ["bridge"], docker=False)


@pytest.mark.parametrize("point", NETNS_INTERRUPT)
def test_netns_sigint(tmp_path: Path, point: str) -> None:
    _inject(tmp_path, point, signal.SIGINT, ["bridge"], docker=False)


@pytest.mark.parametrize("point", NETNS_TEARDOWN)
def test_netns_teardown(tmp_path: Path, point: str) -> None:
    _inject(tmp_path, point, KILL, ["bridge"], docker=False)


@pytest.mark.parametrize("sig", [KILL, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize("point", PODMAN_POINTS)
def test_podman(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    """Podman's service, its conmon and containers (the run's cgroups) and its mount namespace all go."""
    _inject(tmp_path, point, sig, ["bridge", "--backend", "podman"], docker=False)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("point", CNI_POINTS)
def test_cni(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    _inject(tmp_path, point, sig, ["bridge", "--backend", "cni"], docker=False)


@pytest.mark.parametrize("point", CNI_TEARDOWN)
def test_cni_teardown(tmp_path: Path, point: str) -> None:
    _inject(tmp_path, point, KILL, ["bridge", "--backend", "cni"], docker=False)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("point", DOCKER_POINTS)
def test_docker(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    _inject(tmp_path, point, sig, ["bridge", "--backend", "docker"], docker=True)


@pytest.mark.parametrize("point", DOCKER_INTERRUPT)
def test_docker_sigint(tmp_path: Path, point: str) -> None:
    _inject(tmp_path, point, signal.SIGINT, ["bridge", "--backend", "docker"], docker=True)


@pytest.mark.parametrize("point", DOCKER_TEARDOWN)
def test_docker_teardown(tmp_path: Path, point: str) -> None:
    _inject(tmp_path, point, KILL, ["bridge", "--backend", "docker"], docker=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("point", SWARM_POINTS)
def test_docker_swarm(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    """Private daemons in node namespaces, joined into a swarm: none of them, and no swarm, may survive."""
    _inject(tmp_path, point, sig, ["overlay", "--backend", "docker"], docker=True)


@pytest.mark.parametrize("point", OVERLAY_POINTS)
def test_docker_overlay_kill(tmp_path: Path, point: str) -> None:
    """SIGKILL while the private daemons create and start containers, or later: every process they started
    (containerd, one shim per container, the containers) is gone after `netlab clean`."""
    _inject(tmp_path, point, KILL, ["overlay", "--backend", "docker"], docker=True)


def _private_dockerds() -> list[int]:
    pids = []
    for journal in Path(os.environ.get("NETLAB_STATE_DIR", "/run/netlab")).glob("*.journal"):
        for line in journal.read_text().splitlines()[1:]:
            entry = json.loads(line)
            if entry["kind"] == "dockerd":
                pids.append(int(entry["name"]))
    return pids


def test_docker_overlay_kill_mid_container_start(tmp_path: Path) -> None:
    """The run is let go at the second container's start and killed while dockerd is starting it: the
    daemon finishes the start for a client that is gone."""
    resume = tmp_path / "resume"

    def let_go() -> None:
        resume.touch()
        time.sleep(0.03)

    os.environ["NETLAB_FAULT_RESUME"] = str(resume)
    try:
        _inject(tmp_path, "docker.container.start:2", KILL, ["overlay", "--backend", "docker"], True, let_go)
    finally:
        del os.environ["NETLAB_FAULT_RESUME"]


def test_docker_overlay_daemons_killed_with_the_run(tmp_path: Path) -> None:
    """The run and its private dockerds are killed (an OOM kill, a crash): their containerd shims and containers
    reparent to init and are connected to nothing but the run's cgroups; `netlab clean` ends them."""

    def kill_daemons() -> None:
        pids = _private_dockerds()
        assert pids, "the run has no private dockerd to kill"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)

    _inject(tmp_path, "runner.deployed", KILL, ["overlay", "--backend", "docker"], True, kill_daemons)
