"""A macvlan network with two subnets on a real Docker 20.10 and on netns: both deploy it, number each container
from the subnet it asked for, and give each its own subnet's gateway as default route (two_subnet_macvlan() in
tests/shared_scenarios.py)."""

from __future__ import annotations

import pytest
from shared_scenarios import two_subnet_macvlan

from netlab.runner import run_scenario


@pytest.mark.parametrize("backend", ["netns", "docker"])
def test_each_container_routes_by_its_own_subnet(backend: str, host_and_docker_unchanged: None) -> None:
    result = run_scenario(two_subnet_macvlan(), backend=backend)
    assert result.ok, result.verdict.summary()
    routes = result.evidence["routes"]["initial"]
    default = {}
    for name in ("a", "b"):
        default[name] = next(r.split(" dev ")[0] for r in routes[name]["routes"] if r.startswith("default"))
    assert default == {"a": "default via 198.18.40.1", "b": "default via 198.18.41.1"}
    assert any(r.startswith("198.18.41.0/24") for r in routes["b"]["routes"])
