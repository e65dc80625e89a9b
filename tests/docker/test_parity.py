"""Every bundled scenario on the real Docker Engine, and the same observations as the netns backend."""

from __future__ import annotations

import subprocess

import pytest

from netlab import loader
from netlab.backends.base import Deployment
from netlab.kernel import features
from netlab.model.results import Observation
from netlab.runner import Result, run_scenario, run_topology

SINGLE_NODE = [
    "bridge",
    "bridge_icc",
    "bridge_internal",
    "bridge_nonat",
    "host",
    "none",
    "macvlan",
    "macvlan_private",
]
NEEDS_IPVLAN = ["ipvlan", "ipvlan_l2"]


def matrix(result: Result) -> dict[tuple[str, str, str, str], str]:
    return {(o.stage, o.src, o.dst, str(o.probe)): o.outcome.value for o in result.observations}


@pytest.mark.parametrize("name", SINGLE_NODE)
def test_docker_and_netns_agree_cell_for_cell(name: str, host_and_docker_unchanged: None) -> None:
    docker = run_scenario(name, backend="docker")
    netns = run_scenario(name, backend="netns")
    assert docker.verdict.ok, [
        (c.expectation.src, c.expectation.dst, str(c.expectation.probe), c.observed.value, c.observation.detail)
        for c in docker.verdict.checks
        if not c.ok and c.observation
    ]
    a, b = matrix(docker), matrix(netns)
    assert a.keys() == b.keys()
    differ = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    assert not differ, f"docker vs netns differ in {len(differ)} cells: {differ}"


MULTI_NODE = ["overlay"]


@pytest.mark.parametrize("name", MULTI_NODE)
def test_swarm_of_private_daemons_agrees_with_netns(name: str, host_and_docker_unchanged: None) -> None:
    """Several nodes: a private dockerd per node namespace, joined into a swarm; VXLAN on the underlay."""
    docker = run_scenario(name, backend="docker")
    netns = run_scenario(name, backend="netns")
    assert docker.verdict.ok, docker.verdict.summary()
    a, b = matrix(docker), matrix(netns)
    differ = {k: (a[k], b[k]) for k in a if a.get(k) != b.get(k)}
    assert a.keys() == b.keys() and not differ, differ
    assert not subprocess.run(["pgrep", "-f", "dockerd .*--exec-root /run/nl/"], capture_output=True).stdout


def test_every_bundled_scenario_is_covered() -> None:
    names = {i.name for i in loader.bundled()}
    assert names == set(SINGLE_NODE) | set(MULTI_NODE) | set(NEEDS_IPVLAN)


def test_objects_are_labelled_with_the_run_and_removed_afterwards(host_and_docker_unchanged: None) -> None:
    seen: dict[str, str] = {}

    def grab(dep: Deployment, index: int, obs: list[Observation]) -> None:
        for kind in ("ps", "network"):
            argv = [
                "docker",
                kind,
                "ls" if kind == "network" else "-a",
                "-q",
                "--filter",
                f"label=netlab.run={dep.run}",
            ]
            if kind == "ps":
                argv = ["docker", "ps", "-a", "-q", "--filter", f"label=netlab.run={dep.run}"]
            seen[kind] = subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    result = run_topology(loader.load("bridge"), backend="docker", on_stage=grab)
    assert result.ok
    assert len(seen["ps"].split()) == 4  # web, app, db, legacy
    assert len(seen["network"].split()) == 2  # front, back


def test_ipvlan_on_docker_without_kernel_support_says_so_with_exit_3() -> None:
    if features.link_kinds().get("ipvlan") == "":
        pytest.skip("this kernel has ipvlan; the docker ipvlan driver works here")
    proc = subprocess.run(["netlab", "run", "ipvlan", "--backend", "docker"], capture_output=True, text=True)
    assert proc.returncode == 3
    assert "Docker's ipvlan driver cannot work on this kernel" in proc.stderr
    assert "--backend netns --kernel uml" in proc.stderr


def test_probe_image_is_built_locally_without_a_registry() -> None:
    proc = subprocess.run(["netlab", "image"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("netlab/probe:latest")


def test_run_bridge_on_docker_exits_zero() -> None:
    proc = subprocess.run(["netlab", "run", "bridge", "--backend", "docker"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "backend: docker" in proc.stdout
