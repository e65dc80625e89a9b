"""Control groups of a run: where its processes are, so that teardown and `netlab clean` end them all.

A private dockerd (netlab/backends/docker/daemons.py) starts containerd, which starts one
containerd-shim per container; shims outlive containerd by design and reparent to init, so after a
killed run nothing connects them to netlab but the cgroup they inherited. Each private dockerd
therefore starts inside a cgroup of the run's own (`netlab-<run>-<node>-daemon`, journaled before it
is created), and its containers get the cgroup parent `netlab-<run>-<node>`. `end()` kills every
process in a run's cgroup, in every mounted hierarchy, and removes the directories: found by the
names the journal holds, never by a process name or pattern.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
from collections.abc import Iterator, Sequence

from netlab.waiting import wait_until

MOUNTINFO = "/proc/self/mountinfo"
END_TIMEOUT_S = 10.0
#: in order of preference for the daemon's own cgroup: the unified hierarchy (no controller needed),
#: then v1 hierarchies every systemd or Docker host has
PREFERRED_V1 = ("pids", "name=systemd")


def daemon_cgroup(run: str, node: str) -> str:
    return f"netlab-{run}-{node}-daemon"


def container_parent(run: str, node: str) -> str:
    """What dockerd gets as --cgroup-parent: runc creates the containers' cgroups below it."""
    return f"netlab-{run}-{node}"


def owned(run: str, name: str) -> bool:
    return bool(run) and name.startswith(f"netlab-{run}-") and "/" not in name and name not in (".", "..")


def hierarchies() -> list[tuple[str, str]]:
    """(mount point, kind) of every mounted cgroup hierarchy; kind is 'unified' or the v1 options."""
    out = []
    with open(MOUNTINFO) as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields, rest = pre.split(), post.split()
            if len(fields) < 5 or len(rest) < 3:
                continue
            if rest[0] == "cgroup2":
                out.append((fields[4], "unified"))
            elif rest[0] == "cgroup":
                opts = [o for o in rest[2].split(",") if o not in ("rw", "ro") and not o.startswith("relatime")]
                out.append((fields[4], ",".join(opts)))
    return out


def tracking_root() -> str | None:
    """The hierarchy a daemon's cgroup is made in: unified if mounted, else pids or name=systemd."""
    found = hierarchies()
    for mount, kind in found:
        if kind == "unified":
            return mount
    for want in PREFERRED_V1:
        for mount, kind in found:
            if want in kind.split(","):
                return mount
    return None


def create(name: str) -> str | None:
    """Make the cgroup `name` in the tracking hierarchy; its path (None where no hierarchy is mounted)."""
    root = tracking_root()
    if root is None:
        return None
    path = os.path.join(root, name)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path)
    return path


def enter_argv(path: str | None, argv: Sequence[str]) -> list[str]:
    """`argv` started inside the cgroup at `path`: a small trampoline writes its own pid to cgroup.procs
    and then execs argv, so everything the program forks is in the cgroup from its first instruction."""
    if path is None:
        return list(argv)
    trampoline = "import os,sys; open(sys.argv[1],'w').write(str(os.getpid())); os.execv(sys.argv[2], sys.argv[2:])"
    return [sys.executable, "-S", "-c", trampoline, os.path.join(path, "cgroup.procs"), *argv]


def _dirs(top: str) -> Iterator[str]:
    """`top` and every cgroup below it, deepest first."""
    for dirpath, _, _ in os.walk(top, topdown=False, onerror=lambda e: None):
        yield dirpath


def _pids(top: str) -> set[int]:
    pids: set[int] = set()
    for d in _dirs(top):
        with contextlib.suppress(OSError), open(os.path.join(d, "cgroup.procs")) as f:
            pids.update(int(x) for x in f.read().split())
    return pids


def processes(run: str, name: str) -> set[int]:
    """Every process in the run's cgroup `name`, in any hierarchy."""
    if not owned(run, name):
        return set()
    out: set[int] = set()
    for mount, _ in hierarchies():
        top = os.path.join(mount, name)
        if os.path.isdir(top):
            out |= _pids(top)
    return out


def end(run: str, name: str, timeout: float = END_TIMEOUT_S) -> list[str]:
    """Kill every process in the run's cgroup `name` (SIGKILL, repeated until none is left) and remove its
    directories in every hierarchy. Returns what was removed. Only names of the run (netlab-<run>-...) are
    touched."""
    if not owned(run, name):
        return []
    tops = [os.path.join(mount, name) for mount, _ in hierarchies()]
    tops = [t for t in tops if os.path.isdir(t) and not os.path.islink(t)]
    if not tops:
        return []
    killed: list[int] = []

    def emptied() -> bool:
        pids = set().union(*(_pids(t) for t in tops))
        for pid in pids:  # a process may fork while it is being killed: killed again on the next round
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        return not pids

    wait_until(emptied, timeout, f"the processes of cgroup {name} to exit after SIGKILL", interval=0.02)
    for top in tops:
        for d in _dirs(top):
            wait_until(functools.partial(_rmdir, d), timeout, f"cgroup {d} to be released", interval=0.02)
    n = len(set(killed))
    return [f"cgroup {name}" + (f" ({n} processes killed)" if n else "")]


def _rmdir(path: str) -> bool:
    """True once the directory is gone; False while the kernel still holds an exited process (EBUSY)."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno != errno.EBUSY:
            raise
        return False
    return True


def leftovers(prefix: str = "netlab-") -> list[str]:
    """Every cgroup directory directly under a hierarchy's root whose name starts with `prefix`, as
    `hierarchy-kind/name` (for host snapshots)."""
    out = []
    for mount, kind in hierarchies():
        with contextlib.suppress(OSError):
            out += [f"{kind}/{d}" for d in os.listdir(mount) if d.startswith(prefix)]
    return sorted(out)
