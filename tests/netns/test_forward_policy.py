"""The same scenarios on a simulated Docker host whose FORWARD policy is ACCEPT (IP forwarding was on before
Docker 20.10 started, so it left the policy alone) and on one where it is DROP, under the 20.10 profile (the
one whose routed-peer cells the policy decides; tests/netns/test_engines.py covers the others): every
bundled scenario passes on both, the run reports the policy it found in the node's own rules, and the
routed-peer cells of `bridge` show the difference (docs/scenarios.md, "Outcomes that depend on the host")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostsnap import HostSnapshot

from netlab import loader, runner
from netlab.errors import UsageError
from netlab.options import RunOptions

HOST_KERNEL = [s.name for s in loader.bundled() if not s.name.startswith("ipvlan") and s.name != "macvlan_vlan"]


@pytest.mark.parametrize("policy", ["accept", "drop"])
@pytest.mark.parametrize("name", HOST_KERNEL)
def test_every_bundled_scenario_passes_on_either_policy(name: str, policy: str, host_unchanged: HostSnapshot) -> None:
    result = runner.run(name, RunOptions(backend="netns", engine="20.10", forward_policy=policy))
    assert result.ok, result.verdict.summary()
    assert not result.check_predicted().unpredicted  # the whole matrix, as Docker's rules predict it
    nodes = result.environment["nodes"]
    assert {facts["forward_policy"] for facts in nodes.values()} == {policy.upper()}
    assert all(facts["ip_forward"] == "1" and facts["bridge_nf_call_iptables"] == "1" for facts in nodes.values())
    assert policy.upper() in result.environment["engine"]


@pytest.mark.parametrize(("policy", "proxy"), [("accept", "off"), ("drop", "on")])
def test_user_mode_linux_emulates_the_host_it_is_asked_for(
    policy: str, proxy: str, host_unchanged: HostSnapshot
) -> None:
    """The knobs reach the guest's netns backend: its nodes hold the asked policy, its run the asked proxy."""
    result = runner.run("ipvlan_l2", RunOptions(kernel="uml", forward_policy=policy, userland_proxy=proxy))
    assert result.ok, result.verdict.summary()
    assert {f["forward_policy"] for f in result.environment["nodes"].values()} == {policy.upper()}
    assert result.environment["userland_proxy"] == proxy


def test_the_routed_peer_reaches_unpublished_ports_only_where_the_policy_accepts() -> None:
    def route_cells(policy: str) -> dict[tuple[str, str], str]:
        r = runner.run("bridge", RunOptions(backend="netns", engine="20.10", forward_policy=policy))
        return {
            (o.dst, str(o.probe)): o.outcome.value
            for o in r.observations
            if o.stage == "route" and o.src == "ext" and o.dst in ("web", "app")
        }

    drop, accept = route_cells("drop"), route_cells("accept")
    assert drop[("web", "icmp")] == "unreachable" and accept[("web", "icmp")] == "reachable"
    assert drop[("app", "tcp:80")] == "unreachable" and accept[("app", "tcp:80")] == "reachable"
    assert drop[("web", "tcp:80")] == accept[("web", "tcp:80")] == "reachable"  # published: open on both


def test_the_json_says_which_condition_applied(tmp_path: Path) -> None:

    out = tmp_path / "r.json"
    runner.run("bridge", RunOptions(backend="netns", engine="20.10", forward_policy="accept", json_file=str(out)))
    data = json.loads(out.read_text())
    applied = [(c["src"], c["dst"], c["probe"], c["when"]) for c in data["expectations"] if "when" in c]
    assert ("ext", "web", "icmp", {"engine": "<28", "forward_policy": "ACCEPT"}) in applied
    assert all(
        c["when"] in ({"engine": "<28", "forward_policy": "ACCEPT"}, {"engine": "<28"})
        for c in data["expectations"]
        if "when" in c
    )
    assert data["environment"]["nodes"]["host"]["forward_policy"] == "ACCEPT"


def test_the_policy_is_a_netns_knob() -> None:
    with pytest.raises(UsageError, match="--forward-policy emulates a host on the netns backend"):
        runner.run("bridge", RunOptions(backend="docker", forward_policy="accept"))
    with pytest.raises(UsageError, match="use accept or drop"):
        runner.run("bridge", RunOptions(forward_policy="reject"))
