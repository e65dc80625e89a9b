"""`--why` on a real Docker Engine: the trace table goes into the machine's own namespace next to Docker's
rules, names Docker's own rules, and is gone afterwards (journaled, so a killed run's table is removed by
`netlab clean`); Docker's tables are never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from netlab.model.results import Outcome
from netlab.runner import Result, run_scenario


def _tables() -> str:
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout


def _why(result: Result, src: str, dst: str, probe: str = "icmp", stage: str | None = None) -> str:
    stage = stage or result.topology.stages[0].name
    found = [o for o in result.observations if (o.stage, o.src, o.dst, str(o.probe)) == (stage, src, dst, probe)]
    assert found and found[0].outcome is Outcome.UNREACHABLE, found
    return found[0].why


def _unexplained(result: Result) -> list[tuple[str, str, str, str]]:
    return [
        (o.src, o.dst, str(o.probe), o.why)
        for o in result.observations
        if o.outcome is Outcome.UNREACHABLE and (not o.why or "not explained" in o.why)
    ]


def test_bridge_on_docker_names_dockers_own_rules(host_and_docker_unchanged: None) -> None:
    before = _tables()
    r = run_scenario("bridge", backend="docker", why=True)
    assert _unexplained(r) == []
    cross = _why(r, "web", "db")
    assert "the Docker host's own namespace" in cross and "DOCKER-ISOLATION-STAGE-2" in cross, cross
    # the routed peer meets the host's own FORWARD policy: dropped where Docker set DROP, let through (and said
    # why) where forwarding was on before Docker started and the policy stayed ACCEPT
    routed = next(o for o in r.observations if (o.stage, o.src, o.dst, str(o.probe)) == ("route", "ext", "web", "icmp"))
    if r.environment["nodes"]["host"]["forward_policy"] == "DROP":
        assert routed.outcome is Outcome.UNREACHABLE and "policy of ip filter FORWARD" in routed.why, routed
    else:
        assert routed.outcome is Outcome.REACHABLE and "by the FORWARD policy ACCEPT" in routed.why, routed
    assert _tables() == before  # the trace table is gone, Docker's are as they were


def test_icc_internal_and_macvlan_on_docker(host_and_docker_unchanged: None) -> None:
    icc = run_scenario("bridge_icc", backend="docker", why=True)
    assert "-j DROP`" in _why(icc, "c2", "c1", "tcp:80") and "FORWARD" in _why(icc, "c2", "c1", "tcp:80")
    internal = run_scenario("bridge_internal", backend="docker", why=True)
    assert "DOCKER-ISOLATION-STAGE-1" in _why(internal, "c1", "ext")
    mv = run_scenario("macvlan", backend="docker", why=True)
    assert "a macvlan parent and its own child" in _why(mv, "host", "c1")
    for r in (icc, internal, mv):
        assert _unexplained(r) == []


def test_a_run_killed_while_tracing_on_docker_leaves_its_table_to_clean(
    tmp_path: Path, host_and_docker_unchanged: None
) -> None:
    before = _tables()
    ready = tmp_path / "ready"
    env = dict(os.environ, NETLAB_FAULT="why.traced", NETLAB_FAULT_READY=str(ready))
    proc = subprocess.Popen(
        ["netlab", "run", "bridge", "--backend", "docker", "--why"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    assert "nltrace" in _tables()  # the trace table sits in the machine's own namespace
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0 and "nft table inet nltrace" in clean.stdout, clean
    assert _tables() == before
