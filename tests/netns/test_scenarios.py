"""Every bundled scenario passes on the netns backend, sends nothing off the machine (its real uplink is captured
meanwhile) and leaves the host as it found it."""

from __future__ import annotations

import subprocess

import pytest
from hostsnap import HostSnapshot
from uplinkcap import UplinkCapture

from netlab import loader
from netlab.backends.base import Deployment
from netlab.backends.netns.backend import NetnsBackend, nsthread
from netlab.model.results import Observation, Outcome
from netlab.runner import run_scenario, run_topology

BUNDLED = [info.name for info in loader.bundled()]
HOST_KERNEL = [
    "bridge",
    "bridge_icc",
    "bridge_internal",
    "bridge_nonat",
    "bridge_ipv6",
    "host",
    "none",
    "macvlan",
    "macvlan_private",
    "overlay",
]
NEED_IPVLAN = ["ipvlan", "ipvlan_l2"]
NEED_8021Q = ["macvlan_vlan"]  # run in user-mode Linux by tests/netns/test_drivers.py


@pytest.mark.parametrize("name", HOST_KERNEL)
def test_bundled_scenario_passes_and_leaves_host_unchanged(
    name: str, host_unchanged: HostSnapshot, nothing_off_machine: UplinkCapture
) -> None:
    result = run_scenario(name, backend="netns")
    failed = [c for c in result.verdict.checks if not c.ok]
    assert result.verdict.ok, "\n".join(
        f"{c.expectation.src}->{c.expectation.dst} {c.expectation.probe}: {c.observed} "
        f"({c.observation.detail if c.observation else ''})"
        for c in failed
    )
    assert result.verdict.correct == len(result.verdict.checks) > 0
    assert not result.check_predicted().unpredicted  # every measured cell is what Docker's rules predict


def test_every_bundled_scenario_is_tested() -> None:
    assert set(BUNDLED) <= set(HOST_KERNEL) | set(NEED_IPVLAN) | set(NEED_8021Q)


def test_bridge_matrix_covers_every_ordered_pair_for_icmp() -> None:
    result = run_scenario("bridge", backend="netns")
    names = list(result.endpoints)
    initial = {(o.src, o.dst) for o in result.observations if o.stage == "initial" and str(o.probe) == "icmp"}
    assert initial == {(a, b) for a in names for b in names if a != b}


def _iptables_in(dep: Deployment, node: str) -> str:
    path = dep.endpoints[node].netns
    assert path is not None
    return nsthread.run(path, ["iptables-save"])


def test_bridge_host_namespace_holds_docker_rules() -> None:
    seen: dict[str, str] = {}

    def grab(dep: Deployment, index: int, obs: list[Observation]) -> None:
        if index == 0:
            seen["rules"] = _iptables_in(dep, "host")

    topo = loader.load("bridge")
    run_topology(topo, backend=NetnsBackend(engine="20.10"), on_stage=grab)
    rules = seen["rules"]
    front = topo.network("front")
    assert f"-A POSTROUTING -s {front.subnet} ! -o {front.bridge_name} -j MASQUERADE" in rules
    assert f"-A DOCKER-ISOLATION-STAGE-2 -o {front.bridge_name} -j DROP" in rules
    assert ":FORWARD DROP" in rules
    assert "-j DNAT --to-destination" in rules


def test_root_namespace_has_no_rules_or_links_of_a_live_run() -> None:
    """The netns backend never writes to the root namespace, even while the run is up."""
    before = HostSnapshot.take()
    during: dict[str, HostSnapshot] = {}

    def grab(dep: Deployment, index: int, obs: list[Observation]) -> None:
        during["snap"] = HostSnapshot.take()

    run_topology(loader.load("bridge"), backend="netns", on_stage=grab)
    snap = during["snap"]
    assert snap.links == before.links
    assert snap.iptables == before.iptables
    assert snap.routes == before.routes


def test_blocked_icc_cell_is_unreachable_rather_than_an_error() -> None:
    """Decided from its trace (the icc rule dropped it), or by its timeout where it waits for one."""
    result = run_scenario("bridge_icc", backend="netns")
    cell = next(o for o in result.observations if (o.src, o.dst, str(o.probe)) == ("c1", "c2", "icmp"))
    assert cell.outcome is Outcome.UNREACHABLE
    assert "-j DROP" in cell.detail and cell.detail.startswith("the request was dropped in host's namespace")
    waited = run_scenario("bridge_icc", backend="netns", decide="timeout")
    cell = next(o for o in waited.observations if (o.src, o.dst, str(o.probe)) == ("c1", "c2", "icmp"))
    assert cell.outcome is Outcome.UNREACHABLE and "no answer" in cell.detail


def test_peer_without_route_is_unreachable_with_reason() -> None:
    result = run_scenario("bridge", backend="netns")
    cell = next(o for o in result.observations if (o.stage, o.src, o.dst) == ("initial", "ext", "web"))
    assert cell.outcome is Outcome.UNREACHABLE
    assert "route" in cell.detail


def test_netlab_run_cli_exits_zero_and_prints_tables() -> None:
    proc = subprocess.run(["netlab", "run", "bridge"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "expected" in proc.stdout and "observed" in proc.stdout and "diff" in proc.stdout
    assert "0 wrong" in proc.stdout
    assert "backend netns" in proc.stdout
