"""A scenario's own daemon options on the docker backend: netlab starts a daemon of its own with them (it never
restarts the machine's), and its cells equal the netns backend's emulation of Docker 20.10 with those options."""

from __future__ import annotations

from shared_scenarios import daemon_options

from netlab import runner
from netlab.options import RunOptions


def test_a_private_daemon_runs_the_options_and_agrees_with_netns(host_and_docker_unchanged: None) -> None:
    docker = runner.run(daemon_options(), RunOptions(backend="docker"))
    netns = runner.run(daemon_options(), RunOptions(backend="netns", engine="20.10"))
    assert docker.ok, docker.verdict.summary()
    options = docker.environment["daemon_options"]
    assert (options["icc"], options["ip"], options["userland-proxy"]) == ("false", "127.0.0.1", "false")
    cells = {(o.src, o.dst, str(o.probe)): o.outcome for o in docker.observations}
    assert cells == {(o.src, o.dst, str(o.probe)): o.outcome for o in netns.observations}
    assert not docker.check_predicted().unpredicted
