"""A run killed at a fault point: SIGKILL needs `netlab clean`; SIGINT/SIGTERM clean up by themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from hostsnap import HostSnapshot


def _start_paused(tmp_path: Path, point: str) -> subprocess.Popen[str]:
    ready = tmp_path / "ready"
    env = dict(os.environ, NETLAB_FAULT=point, NETLAB_FAULT_READY=str(ready))
    proc = subprocess.Popen(
        ["netlab", "run", "bridge"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before reaching {point}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"run never reached {point}"
        time.sleep(0.05)
    return proc


def _netns_of_runs() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith("nl")]


@pytest.mark.parametrize("point", ["netns.created:5", "netns.firewall", "runner.measure"])
def test_sigkill_then_clean_leaves_nothing(tmp_path: Path, point: str) -> None:
    before = HostSnapshot.take()
    proc = _start_paused(tmp_path, point)
    assert _netns_of_runs(), "the paused run should have namespaces"
    proc.kill()
    proc.wait(timeout=10)
    assert _netns_of_runs(), "SIGKILL cannot clean up: the namespaces are still there"
    clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr
    assert "removed" in clean.stdout
    after = HostSnapshot.take()
    assert after.diff(before) == [], before.describe(after)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("point", ["netns.created:3", "runner.measure"])
def test_sigint_and_sigterm_clean_up_by_themselves(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    before = HostSnapshot.take()
    proc = _start_paused(tmp_path, point)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "interrupted" in err
    after = HostSnapshot.take()
    assert after.diff(before) == [], before.describe(after)
    clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=60)
    assert "nothing to clean" in clean.stdout


def test_clean_never_touches_a_live_run(tmp_path: Path) -> None:
    proc = _start_paused(tmp_path, "runner.measure")
    try:
        names = _netns_of_runs()
        clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=60)
        assert clean.returncode == 0
        assert set(names) <= set(_netns_of_runs())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def _guests() -> list[int]:
    """Host processes of netlab's user-mode Linux guests (their kernel's command line names umid=netlab-<run>)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.startswith(b"umid=netlab-") for a in argv):
            found.append(int(pid))
    return found


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_run_killed_while_its_user_mode_linux_guest_runs_leaves_nothing(tmp_path: Path, sig: signal.Signals) -> None:
    """The guest is a process group of its own: SIGINT stops it with the run, after SIGKILL `netlab clean` does,
    and removes its scratch directory (the cni backend inside it: its plugins die with the guest)."""
    before = HostSnapshot.take()
    proc = subprocess.Popen(
        ["netlab", "run", "ipvlan_l2", "--kernel", "uml", "--backend", "cni"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _guests():
        assert proc.poll() is None, f"the run ended before its guest started: {proc.communicate()}"
        assert time.monotonic() < deadline, "the guest never started"
        time.sleep(0.05)
    time.sleep(1.0)  # booting: its init is running the scenario
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    if sig == signal.SIGKILL:
        assert _guests(), "SIGKILL cannot stop the guest: it is still running"
        clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=60)
        assert clean.returncode == 0 and "uml guest" in clean.stdout, clean.stdout + clean.stderr
    deadline = time.monotonic() + 10
    while _guests() and time.monotonic() < deadline:  # the killed group's processes are reaped by init
        time.sleep(0.05)
    assert not _guests()
    assert not list(Path(tempfile.gettempdir()).glob("netlab-uml-*")), "the guest's scratch directory is removed"
    after = HostSnapshot.take()
    assert after.diff(before) == [], before.describe(after)
