"""Four `netlab run bridge` at once on the netns backend: distinct run ids and subnets, all pass, host unchanged."""

from __future__ import annotations

import sys
from pathlib import Path

from hostsnap import HostSnapshot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "data"))
from parallel_runs import assert_distinct, run_at_once


def test_four_bridge_runs_at_once(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    results = run_at_once(tmp_path, "bridge", "netns")
    assert all(r["ok"] for r in results)
    assert_distinct(results)
