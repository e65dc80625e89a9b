"""A snapshot of the host's network state, to prove a run left it exactly as it found it."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass


def _run(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return f"({argv[0]} not installed)"
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30).stdout


def _links() -> str:
    out = []
    for line in _run(["ip", "-o", "link", "show"]).splitlines():
        # keep name, flags and kind-relevant parts; drop counters that change by themselves
        m = re.match(r"\d+: (\S+): <([^>]*)>", line)
        if m:
            out.append(f"{m.group(1)} <{m.group(2)}>")
    return "\n".join(sorted(out))


def _iptables() -> str:
    text = _run(["iptables-save"])
    return "\n".join(re.sub(r"\[\d+:\d+\]", "", line) for line in text.splitlines() if not line.startswith("#"))


def _mounts() -> str:
    with open("/proc/self/mountinfo") as f:
        return "\n".join(sorted(line.split(" - ")[0].split(" ", 4)[4] for line in f if "netns" in line))


@dataclass(frozen=True)
class HostSnapshot:
    links: str
    netns: str
    routes: str
    iptables: str
    mounts: str

    @classmethod
    def take(cls) -> HostSnapshot:
        return cls(
            links=_links(),
            netns=_run(["ip", "netns", "list"]),
            routes=_run(["ip", "route", "show", "table", "all"]),
            iptables=_iptables(),
            mounts=_mounts(),
        )

    def diff(self, other: HostSnapshot) -> list[str]:
        return [name for name in self.__dataclass_fields__ if getattr(self, name) != getattr(other, name)]
