"""Address leases: runs at the same time pick their subnets from different parts of the pool.

The subnets a scenario leaves to netlab are numbered from 198.18.0.0 up. Alone, a run gets slot 0 and
exactly those subnets; while other runs hold slots, the next run gets the lowest free slot k and its
subnets start k * SLOT_SUBNETS /24s further (198.18.16.0 for slot 1, ...). That matters where runs share
the root namespace or a Docker daemon (the docker backend's uplinks and networks); the netns backend's
namespaces would not collide anyway, but its runs take leases all the same, so every run's addresses are
distinct. Subnets a scenario states itself are its author's and are not moved.

A slot is a file `LEASE_DIR/slot-<k>` holding the owner's pid and process start time, taken under an
exclusive lock on `LEASE_DIR/lock`; a slot whose owner has died is free again (no cleanup needed).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator

from netlab import safety
from netlab.errors import EnvironmentProblem, Timeout
from netlab.waiting import wait_until

STATE_DIR = os.environ.get("NETLAB_STATE_DIR", "/run/netlab")  # the journals' directory
LEASE_DIR = os.path.join(STATE_DIR, "leases")
#: 198.18.0.0/16 (the half of the pool scenarios use; 198.19.0.0/16 holds the docker backend's own blocks)
#: in 16 slots of 16 /24s
SLOTS = 16
SLOT_SUBNETS = 16


def _start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _held(path: str) -> bool:
    """True while the process that wrote the slot file is alive (the same process, not a reused pid), or,
    for a deployment kept up (`--keep`), while its run's journal exists (`netlab clean` removes it)."""
    try:
        owner = json.loads(safety.read_text(path))
        if "run" in owner:
            return os.path.exists(os.path.join(STATE_DIR, f"{owner['run']}.journal"))
        return bool(_start(int(owner["pid"])) == owner["start"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


class Lease:
    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.kept = False

    def keep_for(self, run: str) -> None:
        """The run's deployment stays up after this process: the slot stays taken until its journal goes."""
        _write(_path(self.slot), {"run": run})
        self.kept = True


@contextlib.contextmanager
def lease() -> Iterator[Lease]:
    """Hold the lowest free slot for the duration (or, after `keep_for`, as long as that run's journal)."""
    safety.own_dir(STATE_DIR)
    safety.own_dir(LEASE_DIR)
    fd = os.open(os.path.join(LEASE_DIR, "lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        _lock(fd, os.path.join(LEASE_DIR, "lock"))
        slot = next((k for k in range(SLOTS) if not _held(_path(k))), None)
        if slot is None:
            raise EnvironmentProblem(
                f"{SLOTS} netlab runs hold address leases already (see {LEASE_DIR}); wait for one to finish"
            )
        _write(_path(slot), {"pid": os.getpid(), "start": _start(os.getpid())})
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    held = Lease(slot)
    try:
        yield held
    finally:
        if not held.kept:
            with contextlib.suppress(OSError, ValueError), open(_path(slot)) as f:
                if json.load(f).get("pid") == os.getpid():
                    os.unlink(_path(slot))


LOCK_WAIT_S = 10.0


@contextlib.contextmanager
def exclusive(what: str) -> Iterator[None]:
    """One netlab process at a time in the block, across runs (a lock file `<what>.lock` in netlab's state
    directory), for what another program does not do safely when asked concurrently."""
    safety.own_dir(STATE_DIR)
    path = os.path.join(STATE_DIR, f"{what}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        _lock(fd, path)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _lock(fd: int, path: str) -> None:
    """The lock is held for a few file operations; a holder stopped (SIGSTOP, a debugger) does not make
    every later run wait forever."""

    def locked() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    try:
        wait_until(locked, LOCK_WAIT_S, f"the lease lock {path}", interval=0.01)
    except Timeout:
        raise Timeout(
            f"waited {LOCK_WAIT_S:g} s for the lease lock {path}, held by another netlab process that does "
            f"not let go (stopped?); find it with `fuser {path}`"
        ) from None


def _write(path: str, owner: dict[str, object]) -> None:
    tmp = path + f".{os.getpid()}"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "w") as f:
        json.dump(owner, f)
    os.replace(tmp, path)


def _path(slot: int) -> str:
    return os.path.join(LEASE_DIR, f"slot-{slot}")
