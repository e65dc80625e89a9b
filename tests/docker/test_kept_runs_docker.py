"""Stepping into a kept run on a real Docker Engine (netlab ps / exec / shell / capture): the containers are Docker's,
entered through their network namespaces (`/proc/<pid>/ns/net` of the container's process) with this machine's
tools, so an image without a shell can be looked into too; nothing is left once the run is cleaned."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def kept_bridge(tmp_path: Path, host_and_docker_unchanged: None) -> Iterator[dict[str, object]]:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        ["netlab", "run", "bridge", "--backend", "docker", "--keep", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    try:
        yield data
    finally:
        subprocess.run(["netlab", "clean", "--run", str(data["run"])], capture_output=True, text=True, check=True)


def _netlab(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["netlab", *args], capture_output=True, text=True, timeout=60, input=stdin)


def test_ps_exec_shell_and_capture_on_docker_containers(kept_bridge: dict[str, object]) -> None:
    run = str(kept_bridge["run"])
    endpoints = kept_bridge["endpoints"]
    ps = _netlab("ps")
    line = next(ln for ln in ps.stdout.splitlines() if ln.startswith(run))
    assert " bridge " in line and " docker " in line and "web" in line and "legacy" in line

    # exec: the container's own routing table (its network's gateway), not the Docker host's
    route = _netlab("exec", run, "web", "--", "ip", "-4", "route")
    web = str(endpoints["web"]["addresses"]["front"])  # type: ignore[index]
    assert route.returncode == 0, route.stderr
    assert f"src {web}" in route.stdout and "default via " + web.rsplit(".", 1)[0] + ".1" in route.stdout
    container = json.loads(
        subprocess.run(
            ["docker", "inspect", f"nl{run}-web"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    )[0]
    assert container["NetworkSettings"]["Networks"][f"nl{run}-front"]["IPAddress"] == web  # Docker's own word
    assert _netlab("exec", run, "web", "--", "false").returncode == 1

    # shell: on the default bridge too (Docker's docker0, an address Docker chose)
    sh = _netlab("shell", run, "legacy", stdin="ip -o -4 addr show dev eth0\nexit\n")
    legacy = endpoints["legacy"]["addresses"]["bridge"]  # type: ignore[index]
    assert sh.returncode == 0, sh.stderr
    assert f"inet {legacy}/" in sh.stdout

    # capture: the lan the Docker host is plugged into, while the lan's peer pings the host
    host = endpoints["host"]["addresses"]["lan0"]  # type: ignore[index]
    cap = subprocess.Popen(["netlab", "capture", run, "lan0", "-c", "2"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # tcpdump is listening
        ping = ["busybox", "ping", "-c", "3", "-W", "1", str(host)]
        assert _netlab("exec", run, "ext", "--", *ping).returncode == 0
        out, _ = cap.communicate(timeout=20)
    finally:
        cap.kill()
        cap.wait()
    assert cap.returncode == 0 and "ICMP echo request" in out and str(host) in out, out
