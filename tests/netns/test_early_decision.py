"""Early decision on real namespaces: a cell whose packet a rule dropped is closed from its nftables trace, and the
matrix is the one that waiting for every timeout measures, cell for cell, for every bundled scenario the host
kernel runs (the user-mode Linux ones: tests/netns/test_uml.py; real Docker: tests/docker/test_parity.py)."""

from __future__ import annotations

import pytest
from hostsnap import HostSnapshot

from netlab.runner import run_scenario

HOST_KERNEL = [
    "bridge",
    "bridge_icc",
    "bridge_internal",
    "bridge_ipv6",
    "bridge_nonat",
    "host",
    "none",
    "macvlan",
    "macvlan_private",
    "overlay",
]


def _cells(r) -> dict[tuple[str, str, str, str], str]:  # type: ignore[no-untyped-def]
    return {(o.stage, o.src, o.dst, str(o.probe)): o.outcome.value for o in r.observations}


@pytest.mark.parametrize("name", HOST_KERNEL)
def test_deciding_from_signals_measures_what_waiting_measures(name: str, host_unchanged: HostSnapshot) -> None:
    early = run_scenario(name, backend="netns")
    waited = run_scenario(name, backend="netns", decide="timeout")
    assert early.verdict.ok, early.verdict.summary()
    a, b = _cells(early), _cells(waited)
    assert {k: (a[k], b[k]) for k in a if a[k] != b[k]} == {}
    assert not any("nftables trace" in o.detail or "was dropped" in o.detail for o in waited.observations)


def test_bridge_s_isolated_cells_are_closed_by_the_rule_that_dropped_them(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge", backend="netns", engine="29", forward_policy="drop")
    blocked = {(o.stage, o.src, o.dst): o.detail for o in r.observations if str(o.probe) == "icmp"}
    assert blocked[("initial", "web", "db")].startswith("the request was dropped in host's namespace by ip filter ")
    assert "-j DROP" in blocked[("initial", "web", "db")]
    # no cell that a rule dropped waited for its timeout: the silent ones left are the kernel's own
    waited = [o for o in r.observations if o.detail.startswith("no answer within")]
    assert waited == []
    # --why: the early decision is its answer, word for word
    explained = run_scenario("bridge", backend="netns", engine="29", forward_policy="drop", why=True)
    cell = next(
        o for o in explained.observations if (o.stage, o.src, o.dst, str(o.probe)) == ("initial", "web", "db", "icmp")
    )
    assert cell.why == cell.detail and "DOCKER" in cell.why
