"""`network_mode: container:X` (a sidecar in another container's namespace) on a real Docker 20.10 and on netns:
the same cells, and the sidecar's endpoint is its target's (sidecar() in tests/shared_scenarios.py)."""

from __future__ import annotations

from shared_scenarios import sidecar

from netlab.runner import run_scenario


def test_a_sidecar_shares_its_targets_namespace_on_both_backends(host_and_docker_unchanged: None) -> None:
    cells = {}
    for backend in ("netns", "docker"):
        result = run_scenario(sidecar(), backend=backend)
        assert result.ok, (backend, result.verdict.summary())
        side, web = result.endpoints["side"], result.endpoints["web"]
        assert side.netns == web.netns and side.addresses == web.addresses
        cells[backend] = {(o.src, o.dst, str(o.probe)): o.outcome for o in result.observations}
    assert cells["netns"] == cells["docker"]
