"""An external network (compose's `external: true`, the scenario API's `external=`): an existing Docker network the
run uses as it is. Its containers get Docker's addresses, and the network outlives the run untouched; a missing one
is exit 2 before anything is created."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from netlab import Scenario, compose, runner
from netlab.options import RunOptions


@pytest.fixture
def existing(host_and_docker_unchanged: None) -> Iterator[str]:
    """A bridge network made here, as a user's `docker network create` would; removed after the test."""
    client = docker.from_env()
    name = f"nlext{os.getpid()}"
    net = client.networks.create(name, driver="bridge", labels={"netlab.test": "external"})
    try:
        yield name
    finally:
        net.remove()


def test_a_scenario_uses_an_existing_network_and_leaves_it_as_it_was(existing: str) -> None:
    client = docker.from_env()
    before = client.api.inspect_network(existing)
    s = Scenario("ext")
    shared = s.network("shared", external=existing)
    app = s.network("app")
    web = s.container("web", shared)
    api = s.container("api", app, shared)
    db = s.container("db", app)
    s.expect(web, api, "icmp", reachable=True)
    s.expect(api, db, "icmp", reachable=True)
    s.expect(web, db, "icmp", reachable=False)
    s.expect(web, api, "dns:api", reachable=True)  # a user-defined network: Docker's embedded DNS
    result = runner.run(s, RunOptions(backend="docker"))
    assert result.ok, result.verdict.summary()
    after = client.api.inspect_network(existing)
    assert (after["Id"], after["IPAM"], after["Containers"]) == (before["Id"], before["IPAM"], {})
    subnet = before["IPAM"]["Config"][0]["Subnet"]
    assert any(str(a.address).startswith(subnet.rsplit(".", 1)[0]) for a in result.endpoints["web"].addresses)


def test_a_missing_external_network_is_exit_2_naming_it(tmp_path: Path, host_and_docker_unchanged: None) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text("services:\n  web: {networks: [edge]}\nnetworks:\n  edge: {external: true, name: nl-no-such-net}\n")
    proc = subprocess.run(["netlab", "compose", str(path), "-b", "docker"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "external network 'nl-no-such-net' does not exist on the Docker daemon" in proc.stderr
    netns = subprocess.run(["netlab", "compose", str(path)], capture_output=True, text=True, timeout=120)
    assert netns.returncode == 2 and "run it with --backend docker" in netns.stderr


def test_a_compose_file_with_an_external_network_runs_on_docker(existing: str, tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text(
        f"services:\n  web: {{networks: [edge]}}\n  cache: {{networks: [edge]}}\n"
        f"networks:\n  edge: {{external: true, name: {existing}}}\n"
    )
    result = runner.run(compose.load(path).scenario, RunOptions(backend="docker"))
    cells = {(o.src, o.dst, str(o.probe)): o.outcome.value for o in result.observations}
    assert cells[("web", "cache", "icmp")] == "reachable"
    assert cells[("web", "cache", "dns:cache")] == "reachable"
