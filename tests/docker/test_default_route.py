"""Which network a container's default route (and eth0) goes through when it has several, on both backends:
Docker 20.10 orders a container's endpoints with docker_gwbridge last, internal networks after the others,
then by network name, whatever order they were attached in, and picks the gateway again when a network is
connected or disconnected later (netlab/model/dockerrules.py: docker_order)."""

from __future__ import annotations

import pytest

from netlab import Scenario
from netlab.runner import run_scenario


def scenario() -> Scenario:
    s = Scenario("gateways")
    zz = s.network("zz", subnet="198.18.60.0/24")
    aa = s.network("aa", subnet="198.18.61.0/24")
    internal = s.network("inner", subnet="198.18.62.0/24", internal=True)
    # attached zz first; Docker's order puts aa (nl<run>-aa) first, and its published port lands there
    s.container("named", zz, aa, publish={8090: 80})
    s.container("mixed", internal, zz)  # internal first; Docker takes the normal network's gateway
    lonely = s.container("lonely", internal)  # internal only: its gateway is the default route
    s.expect("named", "mixed")
    with s.stage("joined", "lonely joins zz") as st:
        st.connect(lonely, zz)
        st.expect("lonely", "named")
    with s.stage("left", "lonely leaves zz again") as st:
        st.disconnect(lonely, zz)
        st.expect("lonely", "named", reachable=False)
    return s


def _defaults(result: object, stage: str) -> dict[str, str]:
    routes = result.evidence["routes"][stage]  # type: ignore[attr-defined]
    return {
        name: next((r.split(" dev ")[0] for r in routes[name]["routes"] if r.startswith("default")), "none")
        for name in ("named", "mixed", "lonely")
    }


@pytest.mark.parametrize("backend", ["netns", "docker"])
def test_the_default_route_is_the_one_docker_picks(backend: str, host_and_docker_unchanged: None) -> None:
    result = run_scenario(scenario(), backend=backend)
    assert result.ok, result.verdict.summary()
    assert _defaults(result, "initial") == {
        "named": "default via 198.18.61.1",
        "mixed": "default via 198.18.60.1",
        "lonely": "default via 198.18.62.1",
    }
    assert _defaults(result, "joined")["lonely"] == "default via 198.18.60.1"
    assert _defaults(result, "left")["lonely"] == "default via 198.18.62.1"
    on_aa = next(r for r in result.evidence["routes"]["initial"]["named"]["routes"] if r.startswith("198.18.61.0/24"))
    assert " dev eth0 " in on_aa, on_aa  # interfaces are numbered in the same order
    # Docker programs the published port on the endpoint that gives the default route (measured on 20.10.24)
    dnat = [r for r in _strings(result.evidence["firewall"]) if "--dport 8090" in r and "DNAT" in r]
    assert dnat and all(r.endswith("--to-destination 198.18.61.2:80") for r in dnat), dnat


def _strings(tree: object) -> list[str]:
    if isinstance(tree, dict):
        return [s for v in tree.values() for s in _strings(v)]
    if isinstance(tree, list):
        return [s for v in tree for s in _strings(v)]
    return [tree] if isinstance(tree, str) else []
