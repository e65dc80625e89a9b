"""What netlab checks before it touches the machine: its privileges and the directories it writes to.

netlab creates namespaces, links, firewall rules and daemons: without CAP_NET_ADMIN and CAP_SYS_ADMIN it
would fail half-way, so it refuses at the start, saying so. Its journals, leases and private daemons' files
live in directories only root may write (`/run/netlab`, `/var/lib/netlab`, `/run/nl`); netlab creates them
0700 and refuses one that is a symlink, belongs to another user or is writable by others: whoever could
plant a file or link there could steer what a root process writes or removes.
"""

from __future__ import annotations

import os
import stat

from netlab.errors import EnvironmentProblem

#: linux/capability.h
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
NEEDED = {CAP_NET_ADMIN: "CAP_NET_ADMIN", CAP_SYS_ADMIN: "CAP_SYS_ADMIN"}


def effective_capabilities(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def require_privileges(what: str) -> None:
    """Refuse to start `what` without what it needs: root (files under /run) with CAP_NET_ADMIN (links,
    addresses, firewall rules) and CAP_SYS_ADMIN (creating and entering namespaces, bind mounts)."""
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            f"{what} needs root: it creates network namespaces, links and firewall rules (run it with sudo)"
        )
    caps = effective_capabilities()
    missing = [name for bit, name in NEEDED.items() if not caps & (1 << bit)]
    if missing:
        raise EnvironmentProblem(
            f"{what} needs {' and '.join(missing)}, which this process lacks (a container or a restricted "
            "shell?); run it as root with full capabilities (docker run --cap-add NET_ADMIN --cap-add SYS_ADMIN)"
        )


def own_dir(path: str, mode: int = 0o700) -> str:
    """`path` as a directory netlab may write in: created `mode` if missing (its parents must exist or are
    created root-only); refused if it is a symlink, not a directory, not owned by us or writable by others."""
    try:
        os.makedirs(path, mode=mode, exist_ok=True)
    except FileExistsError as e:  # something that is not a directory
        raise EnvironmentProblem(f"{path} exists and is not a directory; remove it") from e
    except PermissionError as e:
        raise EnvironmentProblem(f"cannot create {path}: netlab needs root (run it with sudo)") from e
    return check_dir(path)


def check_dir(path: str) -> str:
    """An existing directory of netlab's, checked as `own_dir` checks it, without creating anything."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise EnvironmentProblem(f"{path} is a symlink; netlab writes only to its own directories: remove the link")
    if not stat.S_ISDIR(st.st_mode):
        raise EnvironmentProblem(f"{path} exists and is not a directory; remove it")
    if st.st_uid != os.geteuid():
        raise EnvironmentProblem(f"{path} belongs to uid {st.st_uid}, not to netlab's user: remove it")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise EnvironmentProblem(
            f"{path} is writable by others (mode {stat.S_IMODE(st.st_mode):o}); netlab refuses it: "
            f"chmod go-w {path} or remove it"
        )
    return path


def read_text(path: str) -> str:
    """A file of netlab's own directories, read without following a symlink planted in its place."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd) as f:
        return f.read()
