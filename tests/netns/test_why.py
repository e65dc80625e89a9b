"""`--why` on the netns backend: every blocked cell of the bundled scenarios gets the rule or the kernel
decision that ended it, and the six cases of issue 9 are named right. The host is as before afterwards."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hostsnap import HostSnapshot

from netlab.model.results import Observation, Outcome
from netlab.runner import Result, run_scenario


def _why(result: Result, src: str, dst: str, probe: str = "icmp", stage: str | None = None) -> str:
    stage = stage or result.topology.stages[0].name
    found = [o for o in result.observations if (o.stage, o.src, o.dst, str(o.probe)) == (stage, src, dst, probe)]
    assert found, (stage, src, dst, probe)
    assert found[0].outcome is Outcome.UNREACHABLE, found[0]
    return found[0].why


def _all_explained(result: Result) -> list[Observation]:
    return [
        o for o in result.observations if o.outcome is Outcome.UNREACHABLE and (not o.why or "not explained" in o.why)
    ]


def test_bridge_cross_network_peer_and_default_bridge(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge", backend="netns", engine="20.10", forward_policy="drop", why=True)
    assert _all_explained(r) == []
    cross = _why(r, "web", "db")
    assert "DOCKER-ISOLATION-STAGE-2" in cross and "-j DROP`" in cross and "host's namespace" in cross, cross
    assert "-o docker0 -j DROP" in _why(r, "app", "legacy")
    assert "ext has no route to" in _why(r, "ext", "web")
    # the peer routes the subnet via the host: Docker's FORWARD policy drops what no DOCKER rule accepts
    routed = _why(r, "ext", "web", stage="route")
    assert "policy of ip filter FORWARD (policy drop" in routed, routed
    assert "policy of ip filter FORWARD" in _why(r, "ext", "app", "tcp:80", stage="route")
    assert "NXDOMAIN" in _why(r, "legacy", "web", "dns:web")
    assert r.timings["why_s"] > 0


def test_icc_disabled_is_the_forward_drop_for_the_bridge(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge_icc", backend="netns", engine="20.10", why=True)
    closed = r.topology.network("closed").bridge_name
    for src, dst, probe in (("c1", "c2", "icmp"), ("c2", "c1", "tcp:80")):
        why = _why(r, src, dst, probe)
        assert f"`-A FORWARD -i {closed} -o {closed} -j DROP`" in why, why


def test_internal_network_is_docker_20_10s_isolation_stage_1_drop(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge_internal", backend="netns", engine="20.10", why=True)
    inner = r.topology.network("inner")
    out = _why(r, "c1", "ext")
    assert f"`-A DOCKER-ISOLATION-STAGE-1 ! -d {inner.subnet} -i {inner.bridge_name} -j DROP`" in out, out
    inbound = _why(r, "out", "c1")
    assert f"`-A DOCKER-ISOLATION-STAGE-1 ! -s {inner.subnet} -o {inner.bridge_name} -j DROP`" in inbound, inbound


def test_macvlan_host_to_its_child_is_the_drivers_filter_not_a_rule(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("macvlan", backend="netns", why=True)
    why = _why(r, "host", "c1")
    assert why.startswith("no rule dropped it: host and c1 are a macvlan parent and its own child"), why
    assert _all_explained(r) == []


def test_ipvlan_l3_peer_has_no_route_back(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("ipvlan", backend="netns", kernel="uml", why=True)
    assert "the reply is lost: ext has no route back to" in _why(r, "c1", "ext")
    assert "ext has no route to" in _why(r, "ext", "c2")
    assert "an ipvlan parent and its own child" in _why(r, "c1", "host")
    # over IPv6 (the network is dual-stack) the same story: no route back, no route there
    assert "the reply is lost: ext has no route back to fd6e:" in _why(r, "c1", "ext", "icmp6")
    assert "ext has no route to" in _why(r, "ext", "c2", "icmp6")
    assert _all_explained(r) == []


def test_netlab_why_explains_a_cell_of_a_kept_run(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    out = tmp_path / "r.json"
    kept = subprocess.run(
        [
            *("netlab", "run", "bridge", "--engine", "20.10", "--forward-policy", "drop", "--userland-proxy", "on"),
            *("--keep", "--json", str(out)),
        ],
        capture_output=True,
        text=True,
    )
    assert kept.returncode == 0, kept.stderr
    run = json.loads(out.read_text())["run"]
    try:
        assert f"netlab clean --run {run}" in kept.stderr
        blocked = subprocess.run(["netlab", "why", str(out), "web", "db"], capture_output=True, text=True)
        assert blocked.returncode == 0, blocked.stderr
        assert "DOCKER-ISOLATION-STAGE-2" in blocked.stdout, blocked.stdout
        tcp = subprocess.run(["netlab", "why", str(out), "ext", "app", "tcp:80"], capture_output=True, text=True)
        assert "policy of ip filter FORWARD" in tcp.stdout, tcp.stdout  # the kept run is in its last stage
        fine = subprocess.run(["netlab", "why", str(out), "web", "app"], capture_output=True, text=True)
        assert "reachable now" in fine.stdout and fine.returncode == 0, fine
        # db's bridge is isolated from web's, but docker-proxy relays the published port: the kept run's relays
        # answer again while `netlab why` probes
        proxied = subprocess.run(["netlab", "why", str(out), "db", "host", "tcp:8080"], capture_output=True, text=True)
        assert "reachable now" in proxied.stdout, proxied
        wrong = subprocess.run(["netlab", "why", str(out), "web", "nobody"], capture_output=True, text=True)
        assert wrong.returncode == 2 and "'nobody' is not an endpoint" in wrong.stderr
    finally:
        clean = subprocess.run(["netlab", "clean", "--run", run], capture_output=True, text=True)
        assert clean.returncode == 0, clean.stderr
    gone = subprocess.run(["netlab", "why", str(out), "web", "db"], capture_output=True, text=True)
    assert gone.returncode == 2 and "is not up" in gone.stderr, gone.stderr


@pytest.mark.parametrize("scenario", ["bridge_nonat", "none", "host", "overlay", "macvlan_private"])
def test_every_blocked_cell_of_the_other_scenarios_is_explained(scenario: str, host_unchanged: HostSnapshot) -> None:
    # on a DROP host (on an ACCEPT host the cells the policy lets through are explained too: test_forward_policy)
    r = run_scenario(scenario, backend="netns", why=True, forward_policy="drop")
    assert _all_explained(r) == [], [(o.src, o.dst, str(o.probe), o.why) for o in _all_explained(r)]
    assert all(o.why == "" for o in r.observations if o.outcome is not Outcome.UNREACHABLE)


def test_a_run_killed_while_tracing_leaves_nothing_for_clean_to_miss(
    tmp_path: Path, host_unchanged: HostSnapshot
) -> None:
    import signal
    import time

    ready = tmp_path / "ready"
    env = dict(os.environ, NETLAB_FAULT="why.traced", NETLAB_FAULT_READY=str(ready))
    proc = subprocess.Popen(
        ["netlab", "run", "bridge", "--why"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True)
    assert clean.returncode == 0 and "removed" in clean.stdout, clean


def test_a_failed_expectation_that_got_through_names_the_rule_that_let_it(
    tmp_path: Path, host_unchanged: HostSnapshot
) -> None:
    path = tmp_path / "wrong.py"
    path.write_text(
        "from netlab import Scenario\n"
        's = Scenario("wrong")\n'
        'n = s.network("n")\n'
        's.container("a", n)\n'
        's.container("b", n)\n'
        's.expect("a", "b", "icmp", reachable=False)  # wrong: one bridge, icc on\n'
        "SCENARIO = s\n"
    )
    r = run_scenario(str(path), backend="netns", engine="20.10", why=True)
    assert not r.ok
    cell = next(o for o in r.observations if (o.src, o.dst, str(o.probe)) == ("a", "b", "icmp"))
    bridge = r.topology.network("n").bridge_name
    assert cell.outcome is Outcome.REACHABLE
    assert cell.why.startswith("it got through: accepted in host's namespace by ip filter FORWARD rule"), cell.why
    assert f"-A FORWARD -i {bridge} -o {bridge} -j ACCEPT" in cell.why, cell.why
    assert [o.why for o in r.observations if (o.src, o.dst) == ("b", "a")] == [""]  # expected and reachable


ROUTED_PEER = (
    "from netlab import Scenario\n"
    's = Scenario("routed")\n'
    'ext = s.peer("ext", s.lan("lan0"))\n'
    'web = s.container("web", s.network("front"))\n'
    'with s.stage("route") as st:\n'
    '    st.route(ext, "front", via="host")\n'
    '    st.expect(ext, web, "icmp", reachable=False)  # true only where the FORWARD policy is DROP\n'
    "SCENARIO = s\n"
)


@pytest.mark.parametrize("policy", ["accept", "drop"])
def test_why_names_the_forward_policy_and_what_docker_does_with_it(
    policy: str, tmp_path: Path, host_unchanged: HostSnapshot
) -> None:
    path = tmp_path / "routed.py"
    path.write_text(ROUTED_PEER)
    r = run_scenario(str(path), backend="netns", engine="20.10", forward_policy=policy, why=True)
    cell = next(o for o in r.observations if (o.stage, o.src, o.dst) == ("route", "ext", "web"))
    if policy == "accept":
        assert cell.outcome is Outcome.REACHABLE and not r.ok
        assert "accepted in host's namespace by the FORWARD policy ACCEPT" in cell.why, cell.why
        assert "forwarding was already on" in cell.why and "Docker 28" in cell.why
    else:
        assert cell.outcome is Outcome.UNREACHABLE and r.ok
        assert "by the policy of ip filter FORWARD (policy drop: no rule of Docker's chains accepted it" in cell.why


def test_ipv6_cells_are_explained_by_ip6tables_rules_or_their_absence(host_unchanged: HostSnapshot) -> None:
    new = run_scenario("bridge_ipv6", backend="netns", engine="28", why=True)
    assert _all_explained(new) == []
    cross = _why(new, "web", "db", "icmp6")
    assert "ip6 filter DOCKER-ISOLATION-STAGE-2" in cross and "-j DROP`" in cross, cross
    assert "has no IPv6 address" in _why(new, "old", "web", "icmp6")
    old = run_scenario("bridge_ipv6", backend="netns", engine="20.10", why=True)
    assert _all_explained(old) == []
    # no NAT66: the peer answers a container's own address it has no route to
    assert "ext has no route back to fd6e:6574:6c00:" in _why(old, "web", "ext", "icmp6")
    crossed = next(o for o in old.observations if (o.src, o.dst, str(o.probe)) == ("web", "db", "icmp6"))
    assert crossed.outcome is Outcome.REACHABLE and "no IPv6 filter rule is on its path" in crossed.why, crossed


def test_netlab_why_explains_an_ipv6_cell_of_a_kept_run(tmp_path: Path) -> None:
    """Over IPv6 a kept run is probed at the IPv6 addresses its JSON lists (not its IPv4 ones)."""
    out = tmp_path / "r.json"
    kept = subprocess.run(
        ["netlab", "run", "bridge_ipv6", "--engine", "28", "--keep", "--json", str(out)], capture_output=True, text=True
    )
    assert kept.returncode == 0, kept.stderr
    run = json.loads(out.read_text())["run"]
    try:
        blocked = subprocess.run(["netlab", "why", str(out), "web", "db", "icmp6"], capture_output=True, text=True)
        assert blocked.returncode == 0, blocked.stderr
        assert "(fd6e:6574:6c00:" in blocked.stdout and "ip6 filter DOCKER-ISOLATION-STAGE-2" in blocked.stdout
        none = subprocess.run(["netlab", "why", str(out), "web", "old", "icmp6"], capture_output=True, text=True)
        assert none.returncode == 2 and "'old' has no IPv6 address" in none.stderr
    finally:
        subprocess.run(["netlab", "clean", "--run", run], capture_output=True, text=True, check=True)
