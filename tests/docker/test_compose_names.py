"""Names as compose writes them (hyphens, dots, a digit first) on both backends: containers and networks are
created, DNS resolves hyphenated names and network aliases on the network they share, and a matrix table uses
them as written."""

from __future__ import annotations

import pytest

from netlab import Scenario
from netlab.runner import run_scenario


def scenario() -> Scenario:
    s = Scenario("compose-names")
    front = s.network("front-net")
    back = s.network("back.net")
    s.container("node-proxy-api", front)
    s.container("my-api", front, back, aliases={front: ["api"]})
    s.container("1db", back)
    s.expect_matrix(
        """
                        node-proxy-api  my-api  1db
        node-proxy-api  -               .       X
        my-api          .               -       .
        1db             X               .       -
        """
    )
    s.expect("node-proxy-api", "my-api", "dns:my-api")
    s.expect("1db", "my-api", "dns:my-api")
    s.expect("1db", "node-proxy-api", "dns:node-proxy-api", reachable=False)  # no network in common
    s.expect("node-proxy-api", "my-api", "dns:api")  # an alias on front
    s.expect("1db", "my-api", "dns:api", reachable=False)  # ... and only there
    return s


@pytest.mark.parametrize("backend", ["netns", "docker"])
def test_compose_names_work_everywhere(backend: str, host_and_docker_unchanged: None) -> None:
    result = run_scenario(scenario(), backend=backend)
    assert result.ok, result.verdict.summary()
    dns = {(o.src, str(o.probe)): o.outcome.value for o in result.observations if str(o.probe).startswith("dns:")}
    assert dns[("node-proxy-api", "dns:my-api")] == "reachable"
    assert dns[("1db", "dns:node-proxy-api")] == "unreachable"
