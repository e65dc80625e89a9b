"""`netlab run --step` driven through a pseudo-terminal (a student pressing Enter), and unattended with
`--pause 0` into a pipe (plain text, no colour codes)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

from hostsnap import HostSnapshot


def _read_until(fd: int, marker: bytes, buf: bytearray, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while marker not in buf:
        left = end - time.monotonic()
        assert left > 0, f"no {marker!r} within {timeout} s; got:\n{buf.decode(errors='replace')[-2000:]}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            assert chunk, f"output ended before {marker!r}:\n{buf.decode(errors='replace')[-2000:]}"
            buf += chunk


def test_step_waits_for_enter_before_each_action_and_narrates_its_commands(host_unchanged: HostSnapshot) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: netlab on the terminal, as a lecturer would start it
        os.execvp("netlab", ["netlab", "run", "macvlan", "--step", "--no-color"])
    buf = bytearray()
    told = []  # what was on the screen at each pause
    try:
        for _ in range(5):  # the lan, the network, two containers, the shim stage's one action
            _read_until(fd, b"press Enter to ", buf)
            told.append(buf.decode())
            del buf[:]
            os.write(fd, b"\n")
        _read_until(fd, b"lecture claims as expected", buf)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, buf.decode()[-2000:]
    # one pause per action: of the deployment (the lan, the network, two containers), then of the stage
    assert [t.rsplit("press Enter to ", 1)[1].strip() for t in told] == ["do it"] * 5
    assert "the plan" in told[0] and "# ip link add lan0 type bridge" in told[0]
    assert (
        "$ docker network create -d macvlan --subnet 198.18.0.0/24 --ipv6 --subnet fd6e:6574:6c00::/64 -o parent=eth0"
        in told[1]
    )
    assert "$ docker run -d --name c1 --network mv --ip 198.18.0.2 --ip6 fd6e:6574:6c00::2 netlab/probe" in told[2]
    assert "$ docker run -d --name c2 --network mv --ip 198.18.0.3 --ip6 fd6e:6574:6c00::3 netlab/probe" in told[3]
    assert "stage initial: measured" not in "".join(told[:4])  # nothing is measured before the last Enter
    assert "stage initial: measured" in told[4] and "# ip link add macvlan-shim link eth0" in told[4]
    text = buf.decode()
    assert "what changed since the previous stage" in text
    assert "host -> c1 icmp: X -> ." in text  # the shim let the host reach its macvlan child


def test_step_with_pause_runs_unattended_in_plain_text(host_unchanged: HostSnapshot) -> None:
    proc = subprocess.run(
        ["netlab", "run", "bridge_icc", "--step", "--pause", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\033[" not in proc.stdout
    assert proc.stdout.count("(do it in 0 s)") == 7  # the lan, two networks, four containers: a pause each
    assert "$ docker network create -d bridge" in proc.stdout
    assert "-o com.docker.network.bridge.enable_icc=false" in proc.stdout


def test_progress_shows_on_a_terminal_and_nowhere_else(host_unchanged: HostSnapshot) -> None:
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("netlab", ["netlab", "run", "bridge_icc", "--no-color"])
    buf = bytearray()
    try:
        _read_until(fd, b"correct,", buf)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    text = buf.decode()
    assert "netlab: deploying bridge_icc on netns (4 containers) ..." in text
    assert "netlab: probing stage initial ..." in text
    assert "netlab: wiring containers 4/4" in text
    quiet = subprocess.run(["netlab", "run", "bridge_icc"], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == ""  # a pipe: no progress at all
