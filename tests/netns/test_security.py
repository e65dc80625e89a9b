"""Security: netlab refuses to start without the privileges it needs, writes only into directories of its
own (never a symlink, never one others may write), keeps its files private, and hands no scenario string
to a shell on the host."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from hostsnap import HostSnapshot

import netlab
from netlab.backends.journal import Journal
from netlab.errors import EnvironmentProblem

PACKAGE = Path(netlab.__file__).parent


def _netlab(
    *argv: str, env: dict[str, str] | None = None, wrap: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(wrap or []), "netlab", *argv], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize(
    ("cap", "argv"),
    [("net_admin", ["run", "bridge"]), ("sys_admin", ["run", "bridge"]), ("net_admin", ["clean"])],
)
def test_without_a_capability_netlab_refuses_at_the_start_naming_it(
    cap: str, argv: list[str], host_unchanged: HostSnapshot
) -> None:
    drop = ["setpriv", f"--bounding-set=-{cap}", f"--inh-caps=-{cap}"]
    proc = _netlab(*argv, wrap=drop)
    assert proc.returncode == 3, proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and f"CAP_{cap.upper()}" in lines[0], proc.stderr
    assert proc.stdout == ""


def test_a_state_directory_that_is_a_symlink_is_refused_and_its_target_untouched(
    tmp_path: Path, host_unchanged: HostSnapshot
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "state"
    link.symlink_to(target)
    proc = _netlab("run", "bridge", env={"NETLAB_STATE_DIR": str(link)})
    assert proc.returncode == 3, proc
    assert "is a symlink" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert list(target.iterdir()) == []


def test_a_state_directory_others_may_write_is_refused(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o777)
    proc = _netlab("run", "bridge", env={"NETLAB_STATE_DIR": str(state)})
    assert proc.returncode == 3, proc
    assert "writable by others" in proc.stderr
    assert list(state.iterdir()) == []


def test_a_symlink_planted_as_a_journal_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    from netlab.backends import journal as journals

    old = journals.JOURNAL_DIR
    journals.JOURNAL_DIR = str(state)
    try:
        (state / "beef.journal").symlink_to(victim)
        with pytest.raises(OSError):  # O_EXCL | O_NOFOLLOW: the link is neither written through nor replaced
            Journal.open("beef", "netns", "x")
        with pytest.raises(OSError):  # and `netlab clean` does not read through it either
            journals.read(str(state / "beef.journal"))
        assert [r.run for r in journals.runs()] == []
    finally:
        journals.JOURNAL_DIR = old
    assert victim.read_text() == "precious\n"


def test_own_dir_refuses_a_directory_of_another_user(tmp_path: Path) -> None:
    from netlab import safety

    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, 65534, 65534)
    with pytest.raises(EnvironmentProblem, match="belongs to uid 65534"):
        safety.own_dir(str(foreign))


def test_journal_and_state_directory_are_private_while_a_run_is_up(
    tmp_path: Path, host_unchanged: HostSnapshot
) -> None:
    ready = tmp_path / "ready"
    env = dict(os.environ, NETLAB_FAULT="runner.deployed", NETLAB_FAULT_READY=str(ready))
    proc = subprocess.Popen(["netlab", "run", "bridge"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        state = Path("/run/netlab")
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        journals = list(state.glob("*.journal"))
        assert journals
        for j in journals:
            st = j.lstat()
            assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
        assert stat.S_IMODE((state / "leases").stat().st_mode) == 0o700
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_no_scenario_string_reaches_a_shell_on_the_host() -> None:
    """Programs are started with argv lists. The two shell scripts netlab runs hold only what netlab
    generated: firewall rules in a quoted here-document (names in them are validated interface names), and
    the probe script of remote engines, which runs inside a probe container with every value quoted. One
    fixed Python line execs an argv list: the trampoline that starts a private dockerd inside its cgroup; another
    mounts two tmpfs in the mount namespace of Podman's service before it execs podman's argv; and the user-mode
    Linux launcher execs the kernel binary with netlab's own argv after its seccomp filter;
    `netlab exec/shell/capture` become `nsenter` with the command the user typed, as an argv list."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for pattern in (
            r"shell\s*=\s*True",
            r"os\.system\(",
            r"os\.popen\(",
            r"os\.exec[lv]p?e?\(",
            r"""["'](?:/bin/)?(?:ba|da)?sh["']\s*,\s*["']-c["']""",
        ):
            for m in re.finditer(pattern, text):
                offenders.append(f"{path.relative_to(PACKAGE)}:{text[: m.start()].count(chr(10)) + 1}: {m.group()}")
    allowed = {"backends/netns/backend.py", "backends/docker/remote.py"}
    execs = {
        "backends/cgroups.py": "os.execv(",
        "backends/docker/podman.py": "os.execv(",
        "kernel/uml_launch.py": "os.execv(",
        "cli/kept.py": "os.execvpe(",
    }
    assert [o for o in offenders if o.split(":")[0] not in allowed | set(execs)] == []
    assert not [o for o in offenders if "shell" in o or ("os." in o and o.split(":")[0] not in execs)]
    for path, call in execs.items():
        assert [o.split(": ")[1] for o in offenders if o.startswith(path)] == [call], path
