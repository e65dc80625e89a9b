"""The options of a Docker daemon that change what its networks do, as it was started: its command line
(/proc/<pid>/cmdline) over its configuration file (/etc/docker/daemon.json unless --config-file), over
Docker's defaults. Read, never changed; a daemon netlab cannot see (remote, another machine) has none."""

from __future__ import annotations

import contextlib
import json
import os

DEFAULT_CONFIG = "/etc/docker/daemon.json"
DEFAULT_PIDFILE = "/var/run/docker.pid"
#: the options of Docker 20.10 that change reachability, with Docker's defaults
DEFAULTS = {"icc": "true", "ip": "0.0.0.0", "userland-proxy": "true", "iptables": "true", "ip-forward": "true"}
#: options whose default depends on the version (ip6tables) or that later versions added: reported only where the
#: daemon was given them
LATER = ("ip6tables", "experimental", "ip-forward-no-drop", "allow-direct-routing", "firewall-backend")


def pid_of_local_daemon(pidfile: str = DEFAULT_PIDFILE) -> int | None:
    """The pid of the machine's default daemon, from its pidfile."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if os.path.exists(f"/proc/{pid}") else None


def read(pid: int | None) -> dict[str, str]:
    """The effective options (text, as dockerd spells them) of the daemon with that pid."""
    argv: list[str] = []
    if pid is not None:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    flags = _flags(argv[1:])
    out = dict(DEFAULTS)
    out.update(_config(flags.get("config-file", DEFAULT_CONFIG)))
    out.update({k: v for k, v in flags.items() if k in DEFAULTS or k in LATER})
    return out


def _flags(args: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            key, sep, value = a[2:].partition("=")
            if not sep:  # `--flag value` or a bare boolean flag
                nxt = args[i + 1] if i + 1 < len(args) else ""
                if nxt and not nxt.startswith("-") and key not in _BOOLEANS:
                    value, i = nxt, i + 1
                else:
                    value = "true"
            out[key] = value
        i += 1
    return out


_BOOLEANS = {
    "icc",
    "userland-proxy",
    "iptables",
    "ip6tables",
    "experimental",
    "ip-forward",
    "ip-forward-no-drop",
    "allow-direct-routing",
}


def ip6tables(options: dict[str, str], version: str | None) -> str | None:
    """Whether a daemon of that version with those options writes IPv6 rules, "on" or "off" (None: the version
    is unknown): on by default since 27; before, only with `--ip6tables` and `--experimental` (20.10 refuses to
    start with the first alone)."""
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        return None
    if major >= 27:
        return "off" if options.get("ip6tables") == "false" else "on"
    return "on" if options.get("ip6tables") == "true" and options.get("experimental") == "true" else "off"


def _config(path: str) -> dict[str, str]:
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: _text(v) for k, v in data.items() if (k in DEFAULTS or k in LATER) and v is not None}


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
