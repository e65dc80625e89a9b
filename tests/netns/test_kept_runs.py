"""Stepping into a kept run (netlab ps / exec / shell / capture) on real namespaces: what a student types to look
around a deployment after `netlab run --keep`; nothing is left once it is cleaned."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostsnap import HostSnapshot


@pytest.fixture
def kept_bridge(tmp_path: Path, host_unchanged: HostSnapshot) -> Iterator[dict[str, object]]:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        ["netlab", "run", "bridge", "--keep", "--json", str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    try:
        yield data
    finally:
        subprocess.run(["netlab", "clean", "--run", str(data["run"])], capture_output=True, text=True, check=True)


def _netlab(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["netlab", *args], capture_output=True, text=True, timeout=60, input=stdin)


def test_ps_lists_the_kept_run_and_exec_runs_a_command_in_an_endpoint(kept_bridge: dict[str, object]) -> None:
    run = str(kept_bridge["run"])
    ps = _netlab("ps")
    assert ps.returncode == 0 and ps.stdout.startswith("RUN"), ps.stdout
    line = next(ln for ln in ps.stdout.splitlines() if ln.startswith(run))
    assert " bridge " in line and " netns " in line and "web" in line and "ext" in line
    route = _netlab("exec", run, "web", "--", "ip", "-4", "route")
    front = kept_bridge["endpoints"]["web"]["addresses"]["front"]  # type: ignore[index]
    assert route.returncode == 0 and "default via " in route.stdout and str(front).rsplit(".", 1)[0] in route.stdout
    assert _netlab("exec", run, "web", "--", "false").returncode == 1  # the command's own exit code
    missing = _netlab("exec", run, "nosuch", "--", "true")
    assert missing.returncode == 2 and "'nosuch' is not an endpoint of run" in missing.stderr
    other = _netlab("exec", "ffffff", "web", "--", "true")
    assert other.returncode == 2 and "no kept run 'ffffff'" in other.stderr


def test_shell_opens_in_the_endpoint_s_namespace(kept_bridge: dict[str, object]) -> None:
    run = str(kept_bridge["run"])
    sh = _netlab("shell", run, "db", stdin="ip -o -4 addr show dev eth0\nexit\n")
    db = kept_bridge["endpoints"]["db"]["addresses"]["back"]  # type: ignore[index]
    assert sh.returncode == 0, sh.stderr
    assert f"inet {db}/" in sh.stdout


def test_capture_streams_what_crosses_the_lan(kept_bridge: dict[str, object]) -> None:
    run = str(kept_bridge["run"])
    host = kept_bridge["endpoints"]["host"]["addresses"]["lan0"]  # type: ignore[index]
    cap = subprocess.Popen(["netlab", "capture", run, "lan0", "-c", "2"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # tcpdump is listening
        ping = ["busybox", "ping", "-c", "3", "-W", "1", str(host)]  # tests/run.sh installs busybox-static
        assert _netlab("exec", run, "ext", "--", *ping).returncode == 0
        out, _ = cap.communicate(timeout=20)
    finally:
        cap.kill()  # netlab capture became tcpdump: nothing else to stop
        cap.wait()
    assert cap.returncode == 0 and "ICMP echo request" in out and str(host) in out, out
    bad = _netlab("capture", run, "eth9")
    assert bad.returncode == 2 and "not a capture point of run" in bad.stderr and "lan0" in bad.stderr
