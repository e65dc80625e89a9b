"""Rules of the user's own in DOCKER-USER (Scenario.docker_user) on the netns backend: written where each engine
profile's FORWARD chain jumps first, shown in the firewall evidence, named by --why (a published port's packet
followed through its DNAT), left out of Docker's rules' prediction (the differences are theirs), and refused
where Docker's nftables backend has no such chain."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hostsnap import HostSnapshot
from shared_scenarios import docker_user

from netlab import runner
from netlab.errors import EnvironmentProblem
from netlab.options import RunOptions

#: what the user's rules close: the published port, tcp 80 inside front, front's way out to the lan (web's and app's)
BLOCKED = {("ext", "host", "tcp:8080"), ("app", "web", "tcp:80"), ("web", "ext", "icmp"), ("app", "ext", "icmp")}


@pytest.mark.parametrize("engine", ["20.10", "28"])
def test_the_user_s_rules_close_what_docker_opened(engine: str, host_unchanged: HostSnapshot) -> None:
    result = runner.run(docker_user(), RunOptions(backend="netns", engine=engine, why=True))
    assert result.ok, result.verdict.summary()
    added = result.evidence["firewall"]["blocked"]["host"]["changes"]["filter"]["added"]["DOCKER-USER"]
    front = result.topology.network("front").subnet
    lan = result.topology.lan("lan0").subnet
    assert added == [
        f"-A DOCKER-USER -d {front} -p tcp -m tcp --dport 80 -j DROP",
        f"-A DOCKER-USER -s {front} -d {lan} -j REJECT --reject-with icmp-port-unreachable",
    ]
    why = {(o.src, o.dst, str(o.probe)): o.why for o in result.observations if o.stage == "blocked"}
    for cell in BLOCKED:
        assert "DOCKER-USER rule" in why[cell], (cell, why[cell])
    # Docker's own rules open these cells: the prediction differs exactly there, each difference traced to the rule
    prediction = result.predicted()
    wrong = [c for c in prediction.verdict.checks if not c.ok]
    differ = {(c.expectation.src, c.expectation.dst, str(c.expectation.probe)) for c in wrong}
    assert differ == BLOCKED
    assert all("DOCKER-USER" in prediction.evidence(c) for c in wrong)


def test_docker_29_s_nftables_backend_has_no_docker_user_chain(host_unchanged: HostSnapshot) -> None:
    with pytest.raises(EnvironmentProblem, match="no DOCKER-USER chain"):
        runner.run(docker_user(), RunOptions(backend="netns", engine="29-nftables"))


def test_explain_shows_the_rule_and_the_cli_runs_it(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    file = tmp_path / "dockeruser.py"
    tests = str(Path(__file__).resolve().parents[1])
    file.write_text(
        f"import sys\nsys.path.insert(0, {tests!r})\n"
        "from shared_scenarios import docker_user\nSCENARIO = docker_user()\n"
    )
    explained = subprocess.run(["netlab", "explain", str(file)], capture_output=True, text=True, timeout=60)
    assert explained.returncode == 0, explained.stderr
    assert "iptables -I DOCKER-USER -s 198.18.2.0/24 -d " in explained.stdout
    ran = subprocess.run(
        ["netlab", "run", str(file), "--engine", "20.10", "--check"], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    refused = subprocess.run(
        ["netlab", "run", str(file), "--engine", "29-nftables"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 3 and "no DOCKER-USER chain" in refused.stderr
