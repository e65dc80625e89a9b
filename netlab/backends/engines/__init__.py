"""Engine profiles: the firewall rules a given Docker version's bridge driver writes, rendered for one node of
the netns backend (`netlab run --engine 20.10|28|29|29-nftables`).

A profile is facts about one Docker release, not Docker's code: 20.10 is checked against the real dockerd
20.10.24 (tests/docker), 28 and 29 rule for rule against what moby documents for its own daemon
(`integration/network/bridge/iptablesdoc/generated/*.md`, the `iptables -S` of a real daemon) and 29-nftables
against the nftabler unit test's golden files (tests/data/moby, tests/unit/test_engine_golden.py).

`render` takes the node's networks in creation order (the daemon's default bridge first) and the published
ports of its containers in creation order, and returns what to load: iptables-restore text, an `nft -f`
script, or both. `embedded_dns` gives the rules Docker puts in a container's own namespace for 127.0.0.11.
"""

from __future__ import annotations

from collections.abc import Sequence

from netlab.backends.engines import docker28, docker2010, nftables29
from netlab.backends.engines.profile import Host, Profile, Published, Rules
from netlab.errors import UsageError

__all__ = ["NAMES", "NEWEST", "Host", "Profile", "Published", "Rules", "for_version", "get", "with_user_rules"]


def with_user_rules(rules: Rules, user: Sequence[str]) -> Rules:
    """The rules with the user's DOCKER-USER rules in them, in order, ahead of the chain's own (`-j RETURN` up to
    Docker 28.2), as `iptables -I DOCKER-USER` puts them. Docker's nftables backend has no such chain: the
    caller refuses user rules there (EnvironmentProblem) before anything is deployed."""
    if not user:
        return rules
    lines = rules.iptables.splitlines()
    filt = lines.index("*filter")
    end = lines.index("COMMIT", filt)
    own = next((i for i in range(filt, end) if lines[i].startswith("-A DOCKER-USER ")), end)
    lines[own:own] = [f"-A DOCKER-USER {rule}" for rule in user]
    return Rules("\n".join(lines) + "\n", rules.nftables)


PROFILES: dict[str, Profile] = {
    p.name: p for p in (docker2010.PROFILE, docker28.PROFILE_28, docker28.PROFILE_29, nftables29.PROFILE)
}
NAMES = tuple(PROFILES)
NEWEST = "29"  # Docker's default firewall backend in 29 is still iptables


def get(name: str) -> Profile:
    if name not in PROFILES:
        raise UsageError(f"--engine {name!r}: use one of {', '.join(NAMES)}")
    return PROFILES[name]


def for_version(version: str, firewall_backend: str = "iptables") -> str:
    """The profile closest to a daemon's version ("20.10.24", "28.5.2", "29.1.0"): 28.x the 28 profile, 29 and
    later the 29 one (29-nftables with that firewall backend), anything older 20.10's (the closest netlab has:
    23-27 changed details it does not emulate)."""
    try:
        major = int(version.split(".")[0])
    except ValueError:
        return NEWEST
    if major >= 29:
        return "29-nftables" if firewall_backend == "nftables" else "29"
    return "28" if major == 28 else "20.10"
