"""Run code inside a network namespace from the calling thread (Python 3.11 has no os.setns).

`setns` switches only the calling thread; everything created while inside (sockets, pyroute2
IPRoute objects, child processes) belongs to that namespace for its whole life. `entered()`
always switches back in `finally`, so pool threads never stay in a foreign namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import subprocess
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress

from netlab import safety
from netlab.errors import DeployError, Timeout

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2
NETNS_DIR = "/run/netns"
_SELF = "/proc/thread-self/ns/net"
#: input smaller than this goes into a child's pipe without blocking (Linux pipes hold 64 KiB)
PIPE_ROOM = 32 * 1024

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


@contextmanager
def entered(path: str) -> Iterator[None]:
    """Switch the calling thread into the namespace at `path` (a /run/netns file or /proc/PID/ns/net)."""
    own = os.open(_SELF, os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except BaseException:
        os.close(own)
        raise
    try:
        setns(target)
        try:
            yield
        finally:
            setns(own)
    finally:
        os.close(target)
        os.close(own)


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def create(name: str) -> str:
    """Create a named namespace the way `ip netns add` does, without forking. Returns its path."""
    safety.own_dir(NETNS_DIR, mode=0o755)  # shared with `ip netns`; still never a link or writable by others
    path = netns_path(name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_CLOEXEC, 0o444)
    os.close(fd)
    own = os.open(_SELF, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
            _check(_libc.mount(_SELF.encode(), path.encode(), None, MS_BIND, None), f"bind mount {path}")
        finally:
            setns(own)
    except BaseException:
        remove(name)
        raise
    finally:
        os.close(own)
    return path


def remove(name: str) -> bool:
    """Unmount and unlink a named namespace; True if something was there. Idempotent."""
    path = netns_path(name)
    if not os.path.lexists(path):
        return False
    if _libc.umount2(path.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):  # EINVAL: not a mount point (half-created)
            raise OSError(err, f"umount {path}: {os.strerror(err)}")
    with suppress(FileNotFoundError):
        os.unlink(path)
    return True


def exists(name: str) -> bool:
    return os.path.exists(netns_path(name))


def _sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


#: the namespace this process started in (the machine's own, or a guest kernel's, the Docker host's for
#: the local engine): opened once at import, before any thread could have entered another one, so the
#: path stays valid while threads setns
_HOME_FD = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
HOME = f"/proc/self/fd/{_HOME_FD}"
_HOME = os.fstat(_HOME_FD)


def is_home(path: str) -> bool:
    """True if `path` is the network namespace netlab was started in (the machine's own, on most backends)."""
    return _is_home(path)


def _is_home(path: str) -> bool:
    """True if `path` is the network namespace netlab was started in, which it never configures."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino) == (_HOME.st_dev, _HOME.st_ino)


def write_sysctls(path: str, values: Mapping[str, str], optional: Collection[str] = ()) -> None:
    """Write net sysctls of the namespace at `path`. /proc/sys/net shows the namespace of the calling
    THREAD, so the namespace is entered for the writes: a netlink socket bound to a namespace does
    not move the thread, and a write from outside lands in the root namespace. netlab never writes
    the machine's own namespace; keys in `optional` may be missing from the kernel (e.g. IPv6)."""
    if _is_home(path):
        raise DeployError(
            f"refusing to write {', '.join(values)} in the network namespace netlab was started in (the machine's own)"
        )
    with entered(path):
        for key, value in values.items():
            try:
                with open(_sysctl_path(key), "w") as f:
                    f.write(value)
            except FileNotFoundError:
                if key not in optional:
                    raise


def read_sysctl(path: str, key: str) -> str:
    """A net sysctl of the namespace at `path`, read from inside it."""
    with entered(path), open(_sysctl_path(key)) as f:
        return f.read().strip()


def run(path: str, argv: Sequence[str], stdin: str | None = None, timeout: float = 30.0) -> str:
    """Run a program inside a namespace (argv list, never a shell); returns stdout, raises on failure."""
    with entered(path):
        try:
            proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise Timeout(f"{argv[0]} in namespace {path} did not finish within {timeout:g} s") from e
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, list(argv), proc.stdout, proc.stderr)
    return proc.stdout


def run_many(
    jobs: Sequence[tuple[str, Sequence[str], str | None]], timeout: float = 30.0, parallel: int = 32
) -> list[subprocess.CompletedProcess[str]]:
    """Run (namespace, argv, stdin) jobs side by side, at most `parallel` at a time: each child is started
    inside its namespace (the thread switches only around the spawn) and gets its input at once, so their
    waits overlap: a first iptables-nft commit in a fresh namespace spends most of its 17 ms waiting in
    the kernel as its netlink socket closes, and forty of them side by side take 0.1 s. Results in job
    order; the caller checks return codes."""
    done: list[subprocess.CompletedProcess[str]] = []
    for start in range(0, len(jobs), parallel):
        batch = jobs[start : start + parallel]
        procs: list[subprocess.Popen[str]] = []
        try:
            for path, argv, stdin in batch:
                with entered(path):
                    proc = subprocess.Popen(
                        list(argv),
                        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                procs.append(proc)
                if stdin is not None and len(stdin) < PIPE_ROOM and proc.stdin is not None:
                    # fits the pipe: written now without blocking, so this child runs while the next starts
                    with contextlib.suppress(BrokenPipeError):  # it exited early: its stderr says why
                        proc.stdin.write(stdin)
                    with contextlib.suppress(BrokenPipeError):
                        proc.stdin.close()
                    proc.stdin = None  # communicate() must not flush it again
            for proc, (path, argv, stdin) in zip(procs, batch, strict=True):
                try:
                    out, err = proc.communicate(None if proc.stdin is None else stdin, timeout=timeout)
                except subprocess.TimeoutExpired as e:
                    raise Timeout(f"{argv[0]} in namespace {path} did not finish within {timeout:g} s") from e
                done.append(subprocess.CompletedProcess(list(argv), proc.returncode, out, err))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                for pipe in (proc.stdin, proc.stdout, proc.stderr):
                    if pipe is not None:
                        pipe.close()
    return done
