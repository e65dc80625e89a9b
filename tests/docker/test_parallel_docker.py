"""Four `netlab run --backend docker` at once against one daemon: without address leases their networks'
subnets and the node uplinks in the root namespace would collide. All pass; Docker and host unchanged.
`bridge_icc` rather than `bridge`: a published host port (bridge publishes 8080) exists once per machine,
so concurrent runs of a publishing scenario cannot all have it; the one that loses says so."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "data"))
from parallel_runs import assert_distinct, run_at_once


def test_four_docker_runs_at_once(tmp_path: Path, host_and_docker_unchanged: None) -> None:
    results = run_at_once(tmp_path, "bridge_icc", "docker")
    assert all(r["ok"] for r in results)
    assert_distinct(results)
