"""macvlan/ipvlan networks without a parent (no_parent() in tests/shared_scenarios.py): Docker's dummy link as the
parent, in user-mode Linux (its kernel has dummy links) and on this kernel: where it has dummy links the same run
passes, where it has none the run exits 3 naming the remedy and leaves nothing behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hostsnap import HostSnapshot

from netlab.kernel import features

TESTS = Path(__file__).resolve().parents[1]


def scenario_file(tmp_path: Path) -> Path:
    f = tmp_path / "noparent.py"
    f.write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
        "from shared_scenarios import no_parent\nSCENARIO = no_parent()\n"
    )
    return f


def test_the_children_of_a_dummy_parent_reach_each_other_only(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    proc = subprocess.run(
        ["netlab", "run", str(scenario_file(tmp_path)), "--kernel", "uml", "--check", "predicted"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "prediction: " in proc.stdout and " 0 not" in proc.stdout


def test_on_this_kernel_it_runs_or_says_what_is_missing(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    proc = subprocess.run(
        ["netlab", "run", str(scenario_file(tmp_path)), "--backend", "netns"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    needed = features.link_kinds(frozenset({"dummy", "macvlan", "ipvlan"}))
    if all(v == "" for v in needed.values()):
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert "this kernel has no" in proc.stderr and "--kernel uml" in proc.stderr
