"""A Docker daemon that stops answering does not hang netlab: every request is bounded by --daemon-timeout,
the run ends with exit 3 naming the request it waited for, teardown does not wait for the daemon object by
object, and what only the daemon can remove is left to `netlab clean` (bounded as well) for when it answers
again. The daemons are real: the machine's dockerd, or a run's private one, stopped with SIGSTOP."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import docker_objects
from hostsnap import HostSnapshot

STATE = Path(os.environ.get("NETLAB_STATE_DIR", "/run/netlab"))


def _dockerd_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def _machine_dockerd() -> int:
    """The daemon behind /var/run/docker.sock (the oldest dockerd: private ones come and go with runs)."""
    return min(
        _dockerd_pids(), key=lambda pid: float(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    )


def _networks() -> list[str]:
    out = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True)
    return out.stdout.split()


def _run_paused(tmp_path: Path, point: str, argv: list[str]) -> tuple[subprocess.Popen[str], Path]:
    ready, resume = tmp_path / "ready", tmp_path / "resume"
    env = dict(os.environ, NETLAB_FAULT=point, NETLAB_FAULT_READY=str(ready), NETLAB_FAULT_RESUME=str(resume))
    proc = subprocess.Popen(
        ["netlab", "run", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 180
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return proc, resume


@pytest.fixture
def stopped() -> Iterator[list[int]]:
    """Pids the test stopped with SIGSTOP: continued whatever happens."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def test_the_machines_daemon_stopping_mid_run_ends_the_run_and_clean_finishes_later(
    tmp_path: Path, stopped: list[int]
) -> None:
    before, objects = HostSnapshot.take(), docker_objects()
    proc, resume = _run_paused(tmp_path, "docker.network:1", ["bridge", "--backend", "docker", "--daemon-timeout", "2"])
    pid = _machine_dockerd()
    os.kill(pid, signal.SIGSTOP)
    stopped.append(pid)
    resume.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, (out, err)
    line = err.strip()
    assert "\n" not in line, err
    assert re.search(r"did not answer POST /v1\.\d+/networks/create within 2 s", line), line
    assert "left for `netlab clean`" in line and "network nl" in line, line

    # while the daemon is still stopped, `netlab clean` gives up on it within its limit, keeping the journal
    hung_clean = subprocess.run(
        ["netlab", "clean", "--daemon-timeout", "1"], capture_output=True, text=True, timeout=120
    )
    assert hung_clean.returncode == 3, hung_clean
    assert "did not answer" in hung_clean.stderr
    assert list(STATE.glob("*.journal"))

    os.kill(pid, signal.SIGCONT)
    stopped.remove(pid)
    # the daemon now carries out the create it had received while stopped: wait for it, so that clean sees it
    deadline = time.monotonic() + 30
    while not any(n.startswith("nl") for n in _networks()):
        assert time.monotonic() < deadline, "the network created while the daemon was stopped never appeared"
        time.sleep(0.1)
    clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0 and "removed" in clean.stdout, clean
    assert HostSnapshot.take().diff(before) == []
    assert docker_objects() == objects


def test_a_private_daemon_stopping_during_swarm_join_ends_the_run_cleanly(tmp_path: Path, stopped: list[int]) -> None:
    before, daemons = HostSnapshot.take(), _dockerd_pids()
    proc, resume = _run_paused(
        tmp_path, "docker.swarm.join", ["overlay", "--backend", "docker", "--daemon-timeout", "2"]
    )
    journal = next(j for j in STATE.glob("*.journal") if json.loads(j.read_text().splitlines()[0])["pid"] == proc.pid)
    private = [int(e["name"]) for e in map(json.loads, journal.read_text().splitlines()[1:]) if e["kind"] == "dockerd"]
    assert len(private) == 2
    os.kill(private[1], signal.SIGSTOP)  # the worker about to join
    stopped.append(private[1])
    resume.touch()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 3, (out, err)
    assert f"on unix:///run/nl/{journal.stem}-" in err and "did not answer" in err and "within 2 s" in err, err
    assert "/swarm" in err, err
    # the private daemons go with the run (SIGTERM, then SIGKILL for the stopped one): nothing is left
    clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0 and "nothing to clean" in clean.stdout, clean
    assert HostSnapshot.take().diff(before) == []
    assert _dockerd_pids() == daemons


def test_a_daemon_that_accepts_but_never_answers_is_named_before_anything_is_created(tmp_path: Path) -> None:
    path = tmp_path / "hung.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []

    def accept_and_never_answer() -> None:
        with contextlib.suppress(OSError):  # the test closes the socket at the end
            while True:
                held.append(server.accept()[0])

    threading.Thread(target=accept_and_never_answer, daemon=True).start()
    before, objects = HostSnapshot.take(), docker_objects()
    try:
        proc = subprocess.run(
            ["netlab", "run", "bridge", "--backend", "docker", "--daemon-timeout", "1"],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ, DOCKER_HOST=f"unix://{path}"),
        )
    finally:
        server.close()
    assert proc.returncode == 3, proc
    assert len(proc.stderr.splitlines()) == 1 and "did not answer within 1 s" in proc.stderr, proc.stderr
    assert HostSnapshot.take().diff(before) == []
    assert docker_objects() == objects
    assert not list(STATE.glob("*.journal"))
