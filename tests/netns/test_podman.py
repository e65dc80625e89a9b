"""`--backend podman`: the bundled scenarios through the same Docker API calls, answered by Podman 4.3's
Docker-compatible service, which netlab starts in the node's namespace (a mount namespace of its own, the run's
cgroup) and removes with everything it made. Where Podman is not Docker the cells say so (its default network is
not isolated from the others, nothing resolves names without the dnsname plugin); where it is (isolation between
user-defined networks by the CNI firewall plugin, published ports, macvlan modes) they agree. What its API would
silently drop is refused before anything is made."""

from __future__ import annotations

import os
import subprocess

import pytest
from hostsnap import HostSnapshot
from shared_scenarios import two_hosts

from netlab.model import conditions
from netlab.model.results import Outcome
from netlab.runner import run_scenario


def _cells(result: object) -> dict[tuple[str, str, str, str], Outcome]:
    return {(o.stage, o.src, o.dst, str(o.probe)): o.outcome for o in result.observations}  # type: ignore[attr-defined]


def test_bridge_on_podman_measures_where_podman_differs_from_docker(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge", backend="podman")
    assert r.environment["engine"].startswith("Podman 4.")
    cells = _cells(r)
    # as on Docker: one network's containers reach each other, user-defined networks are isolated (the CNI firewall
    # plugin's CNI-ISOLATION chains, which Podman's compat API asks for), a published port answers through the host
    assert cells[("initial", "web", "app", "icmp")] is Outcome.REACHABLE
    assert cells[("initial", "web", "db", "icmp")] is Outcome.UNREACHABLE
    assert cells[("initial", "ext", "host", "tcp:8080")] is Outcome.REACHABLE
    # not as on Docker: Podman's default network is isolated from none, and no name resolves (no dnsname plugin)
    wrong = {(c.expectation.src, c.expectation.dst, str(c.expectation.probe)) for c in r.verdict.checks if not c.ok}
    assert ("legacy", "app", "icmp") in wrong and ("app", "web", "dns:web") in wrong
    added = str(r.evidence["firewall"]["initial"])
    assert "CNI-ISOLATION-STAGE-2" in added and "CNI-HOSTPORT-DNAT" in added
    # a cell whose expectation depends on Docker's version is Docker's only on Podman: listed, judged nowhere
    assert "engine_version" not in r.environment or not r.environment["engine_version"]
    assert r.environment["engine_kind"] == "podman"
    assert {conditions.text(e.when) for e in r.verdict.docker_only} >= {"engine>=28"}
    assert not any(c.undecided for c in r.verdict.checks)
    # Podman wrote its leases and caches into its own mount namespace, not the machine's /var/lib
    assert not os.path.exists("/var/lib/cni") or "nl" not in " ".join(os.listdir("/var/lib/cni/networks"))


def test_two_hosts_each_with_a_podman_service_agree_with_docker_cell_for_cell(host_unchanged: HostSnapshot) -> None:
    """Several nodes: one Podman service per node, each making its own bridge (captured on both nodes)."""
    docker, podman = (run_scenario(two_hosts(), backend=b) for b in ("netns", "podman"))
    assert podman.verdict.ok, podman.verdict.summary()
    assert _cells(podman) == _cells(docker)
    captured = {c["point"] for c in podman.evidence["captures"] if c.get("packets")}
    assert {"host-front", "node2-front", "lan0"} <= captured, captured


@pytest.mark.parametrize("name", ["macvlan", "macvlan_private", "host", "none"])
def test_podman_agrees_with_docker_cell_for_cell(name: str, host_unchanged: HostSnapshot) -> None:
    """macvlan_private: Docker's macvlan_mode becomes Podman's `mode`; its children stay apart as on Docker."""
    r = run_scenario(name, backend="podman")
    assert r.verdict.ok, r.verdict.summary()


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("bridge_icc", "com.docker.network.bridge.enable_icc"),
        ("bridge_nonat", "com.docker.network.bridge.enable_ip_masquerade"),
        ("overlay", "no overlay driver"),
    ],
)
def test_what_podman_would_drop_is_refused_before_anything_is_made(
    name: str, named: str, host_unchanged: HostSnapshot
) -> None:
    proc = subprocess.run(["netlab", "run", name, "--backend", "podman"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "cannot run on Podman" in proc.stderr and named in proc.stderr
    assert proc.stderr.count("\n") == 1  # one message
