"""Scenario.daemon: what dockerd --icc, --ip and --userland-proxy do to the model (the default bridge's icc, the host
address of a publish that names none) and how the story tells them."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from netlab import Scenario
from netlab.backends.docker.backend import needs_private_nodes
from netlab.model.errors import InvalidScenario
from netlab.narrate import deploy_steps


def test_icc_off_closes_the_default_bridge_only_and_ip_is_the_default_host_address() -> None:
    s = Scenario("t")
    s.daemon(icc=False, ip="127.0.0.1", userland_proxy=False)
    user = s.network("user")
    s.container("a", publish={8080: 80, "0.0.0.0:8081": 81, "127.0.0.2:8082": 82})
    s.container("b", user)
    t = s.build()
    assert t.network("bridge").icc is False and t.network("user").icc is True
    hosts = {p.host_port: p.host_ip for p in t.container("a").publish}
    assert hosts == {8080: IPv4Address("127.0.0.1"), 8081: None, 8082: IPv4Address("127.0.0.2")}
    assert t.daemon == (("icc", "false"), ("ip", "127.0.0.1"), ("userland-proxy", "false"))
    assert t.daemon_option("userland-proxy") == "false"
    assert needs_private_nodes(t)  # the machine's daemon is never restarted: netlab starts its own
    step = deploy_steps(t)[0]
    assert step.docker[0].startswith("dockerd --icc=false --ip=127.0.0.1 --userland-proxy=false ")


def test_without_options_docker_s_defaults_hold() -> None:
    s = Scenario("t")
    s.container("a", publish={8080: 80})
    t = s.build()
    assert t.daemon == () and t.network("bridge").icc is True and t.container("a").publish[0].host_ip is None
    assert not needs_private_nodes(t)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"icc": "no"}, "True or False"),
        ({"userland_proxy": 1}, "True or False"),
        ({"ip6tables": "on"}, "True or False"),
        ({"ip": "nowhere"}, "invalid address"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    s = Scenario("t")
    with pytest.raises(InvalidScenario, match=message):
        s.daemon(**kwargs)  # type: ignore[arg-type]
        s.build()


def test_ip6tables_goes_with_experimental_which_docker_before_27_requires() -> None:
    s = Scenario("t")
    s.daemon(ip6tables=True)
    s.network("v6", ipv6=True)
    t = s.build()
    assert t.daemon == (("ip6tables", "true"),)
    assert t.daemon_flags() == ["--experimental", "--ip6tables=true"]
    assert deploy_steps(t)[0].docker[0].startswith("dockerd --experimental --ip6tables=true ")
    s = Scenario("t")
    s.daemon(ip6tables=False)
    assert s.build().daemon_flags() == ["--ip6tables=false"]
