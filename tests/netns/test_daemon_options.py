"""A scenario's own daemon options (Scenario.daemon: dockerd --icc=false --ip=127.0.0.1 --userland-proxy=false) on
the netns backend: the rules Docker 20.10 writes for them, the cells they give, and Docker's rules' prediction of
every cell (daemon_options() in tests/shared_scenarios.py)."""

from __future__ import annotations

import json

from hostsnap import HostSnapshot
from shared_scenarios import daemon_options

from netlab import Scenario, runner
from netlab.options import RunOptions


def test_the_daemon_s_options_close_the_default_bridge_and_bind_published_ports_to_its_ip(
    host_unchanged: HostSnapshot,
) -> None:
    result = runner.run(daemon_options(), RunOptions(backend="netns", engine="20.10", userland_proxy="on"))
    assert result.ok, result.verdict.summary()
    assert result.environment["userland_proxy"] == "off"  # the scenario's daemon over the machine's knob
    added = json.dumps(result.evidence["firewall"]["initial"]["host"]["changes"])
    # hairpin NAT (no docker-proxy): the DNAT has no `! -i <bridge>`, and only the daemon's address matches
    assert "-A DOCKER -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination " in added
    baseline = result.topology.network("bridge")
    assert baseline.icc is False and result.topology.network("user").icc is True
    assert not result.check_predicted().unpredicted


def test_icc_off_alone_runs_on_the_newer_profiles_too(host_unchanged: HostSnapshot) -> None:
    s = Scenario("icc")
    s.daemon(icc=False)
    a, b = s.container("a"), s.container("b")
    s.expect(a, b, "icmp", reachable=False)
    s.expect("host", a, "icmp")
    for engine in ("28", "29"):
        result = runner.run(s, RunOptions(backend="netns", engine=engine))
        assert result.ok, (engine, result.verdict.summary())
        result.check_predicted()
