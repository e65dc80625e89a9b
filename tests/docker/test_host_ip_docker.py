"""A port published on one host address (`-p 127.0.0.1:8080:80`) on a real Docker 20.10 and on netns emulating it:
the same cells, and the same DNAT rule restricted to that address (loopback_publish() in tests/shared_scenarios.py)."""

from __future__ import annotations

import json
import re

from shared_scenarios import loopback_publish

from netlab.runner import run_scenario

DNAT = re.compile(r"-A DOCKER -d 127\.0\.0\.1/32 ! -i \S+ -p tcp -m tcp --dport 8080 -j DNAT --to-destination \S+:80")


def _added_rules(result: object) -> str:
    """Every rule the run added to the host's firewall, one per line."""
    added = [c.get("added", {}) for c in result.evidence["firewall"]["initial"]["host"]["changes"].values()]  # type: ignore[attr-defined]
    return json.dumps(added, indent=1)


def test_a_port_published_on_loopback_is_closed_elsewhere_on_both_backends(host_and_docker_unchanged: None) -> None:
    cells = {}
    for backend in ("netns", "docker"):
        result = run_scenario(loopback_publish(), backend=backend, engine="20.10" if backend == "netns" else None)
        assert result.ok, (backend, result.verdict.summary())
        cells[backend] = {(o.src, o.dst, str(o.probe)): o.outcome for o in result.observations}
        assert DNAT.search(_added_rules(result)), (backend, _added_rules(result))
    assert cells["netns"] == cells["docker"]
