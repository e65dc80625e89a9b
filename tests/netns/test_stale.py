"""Start-up recovery: `netlab run` names the leftovers of dead earlier runs and says what to do;
`--clean-stale` removes them first; a run that is still alive is never listed nor touched."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from hostsnap import HostSnapshot


def _paused(tmp_path: Path, point: str) -> subprocess.Popen[str]:
    ready = tmp_path / f"ready-{point}"
    env = dict(os.environ, NETLAB_FAULT=point, NETLAB_FAULT_READY=str(ready))
    proc = subprocess.Popen(
        ["netlab", "run", "bridge"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith("nl")}


def test_leftovers_are_named_and_cleaned_on_request(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    dead = _paused(tmp_path, "netns.firewall")
    dead.kill()
    dead.wait(timeout=10)
    left = _namespaces()
    assert left
    run = next(iter(left))[2:].split("-")[0]
    hinted = subprocess.run(["netlab", "run", "bridge_icc"], capture_output=True, text=True, timeout=120)
    assert hinted.returncode == 0, hinted.stderr
    assert re.search(
        rf"1 earlier run\(s\) left objects behind: {run} \(bridge, \d+ objects\); `netlab clean`", hinted.stderr
    )
    assert _namespaces() == left  # only told, not touched
    cleaned = subprocess.run(
        ["netlab", "run", "bridge_icc", "--clean-stale"], capture_output=True, text=True, timeout=120
    )
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"run {run} (dead): removed" in cleaned.stderr
    assert not _namespaces()


def test_a_live_run_is_never_stale(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    live = _paused(tmp_path, "runner.measure")
    try:
        mine = _namespaces()
        other = subprocess.run(
            ["netlab", "run", "bridge_icc", "--clean-stale"], capture_output=True, text=True, timeout=120
        )
        assert other.returncode == 0, other.stderr
        assert "left objects behind" not in other.stderr and "removed" not in other.stderr
        assert mine <= _namespaces()
    finally:
        live.send_signal(signal.SIGTERM)
        live.communicate(timeout=60)
