"""docker-proxy on a real Docker 20.10 and its emulation on netns agree cell for cell (proxy() in
tests/shared_scenarios.py): a published port reached through any host address from any bridge, TCP and UDP."""

from __future__ import annotations

from shared_scenarios import proxy as scenario

from netlab.runner import run_scenario


def _cells(result: object) -> dict[tuple[str, str, str, str], str]:
    return {
        (o.src, o.dst, str(o.probe), str(o.address)): o.outcome.value
        for o in result.observations  # type: ignore[attr-defined]
    }


def test_docker_proxy_and_its_emulation_agree(host_and_docker_unchanged: None) -> None:
    docker = run_scenario(scenario(), "docker")
    assert docker.ok, docker.verdict.summary()
    assert docker.environment["userland_proxy"] == "on"  # the daemon the tests start has Docker's default
    netns = run_scenario(scenario(), "netns", engine="20.10", userland_proxy="on")
    assert netns.ok, netns.verdict.summary()
    assert _cells(netns) == _cells(docker)


def test_the_netns_default_follows_the_local_daemon(host_and_docker_unchanged: None) -> None:
    """Unasked, the local daemon's setting (on here) is emulated; asked for, the knob wins."""
    assert run_scenario(scenario(), "netns").environment["userland_proxy"] == "on"
    assert run_scenario(scenario(), "netns", userland_proxy="off").environment["userland_proxy"] == "off"
