"""Kept runs as their journals describe them (netlab ps / shell / exec / capture): only runs netlab journalled,
only the namespaces and interfaces they name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from netlab import kept
from netlab.errors import EnvironmentProblem, UsageError


def _journal(directory: Path, run: str, endpoints: dict[str, str], pid: int = 999999999) -> None:
    head = {"run": run, "pid": pid, "start": "0", "backend": "netns", "scenario": "bridge", "time": 1000.0}
    entry = {
        "kind": "kept",
        "name": "bridge",
        "stage": 1,
        "endpoints": endpoints,
        "captures": [["lan0", endpoints.get("ext", "root"), "lan", None, "lan0"], ["old", "root", "lan", None]],
    }
    (directory / f"{run}.journal").write_text(json.dumps(head) + "\n" + json.dumps(entry) + "\n")


def test_a_kept_run_is_found_with_its_endpoints_and_capture_points(journal_dir: Path, tmp_path: Path) -> None:
    ns = tmp_path / "nlab12-web"
    ns.write_text("")
    _journal(journal_dir, "ab12", {"web": str(ns), "host": "root"})
    (k,) = kept.runs()
    assert (k.run, k.scenario, k.backend, k.stage) == ("ab12", "bridge", "netns", 1)
    assert kept.namespace(k, "web") == str(ns) and kept.namespace(k, "host") is None
    assert kept.capture_point(k, "lan0") == (None, "lan0")  # "root": the machine's own namespace
    assert "old" not in k.captures  # written before interfaces were recorded: nothing to capture on
    assert kept.enter(None, ["ip", "route"]) == ["ip", "route"]
    assert kept.enter(str(ns), ["ip", "route"])[1:] == [f"--net={ns}", "--", "ip", "route"]


def test_what_is_not_netlab_s_is_refused(journal_dir: Path, tmp_path: Path) -> None:
    _journal(journal_dir, "ab12", {"web": str(tmp_path / "gone")})
    with pytest.raises(UsageError, match="not a run id"):
        kept.find("../etc")
    with pytest.raises(UsageError, match="no kept run 'cd34'"):
        kept.find("cd34")
    k = kept.find("ab12")
    with pytest.raises(UsageError, match="'db' is not an endpoint of run ab12"):
        kept.namespace(k, "db")
    with pytest.raises(EnvironmentProblem, match="is gone"):
        kept.namespace(k, "web")
    with pytest.raises(UsageError, match="not a capture point"):
        kept.capture_point(k, "eth0")


def test_a_run_still_going_is_not_listed(journal_dir: Path) -> None:
    _journal(journal_dir, "ab12", {"web": "root"}, pid=os.getpid())
    head = json.loads((journal_dir / "ab12.journal").read_text().splitlines()[0])
    with open(f"/proc/{os.getpid()}/stat") as f:
        head["start"] = f.read().rsplit(")", 1)[1].split()[19]
    lines = (journal_dir / "ab12.journal").read_text().splitlines()
    (journal_dir / "ab12.journal").write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    assert kept.runs() == []


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (300, "5m"), (10800, "3h")])
def test_ages_read_at_a_glance(seconds: float, text: str) -> None:
    assert kept.age(seconds) == text
