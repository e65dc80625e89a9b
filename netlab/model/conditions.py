"""Conditions under which an expectation holds: the facts of the host and engine a verdict depends on.

Docker's truth is not the same on every machine: Docker 20.10 sets the FORWARD policy to DROP only when it
turned IP forwarding on itself, so on a host whose forwarding was already on (routers, VPN hosts) the policy
stays ACCEPT and routed traffic reaches unpublished container ports. A scenario says so by giving the
outcome per condition:

    st.expect(ext, web, "icmp", reachable=False, when={"forward_policy": "DROP"})
    st.expect(ext, web, "icmp", reachable=True, when={"forward_policy": "ACCEPT"})

The verdict checks the expectation whose condition the run's facts (Result.environment, evidence/hostfacts.py)
meet and says which applied; an expectation without a condition holds everywhere and is always checked.

`engine` compares the Docker version (the daemon's, or the profile the netns backend emulates): "28" is any
28.x, "<28", "<=20.10", ">=28", ">29" compare releases; `firewall_backend` is iptables or nftables;
`ip6tables` is on where the daemon writes IPv6 rules (dockerd's --ip6tables: on by default since 27, before only
with --experimental --ip6tables). On a run whose engine is not Docker (the CNI plugins, Podman) an expectation
under an `engine` condition says what some Docker release does: it is listed as Docker's only, not judged.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

#: condition -> the values it can take (as the facts spell them); () for `engine`'s version comparisons
KEYS: dict[str, tuple[str, ...]] = {
    "forward_policy": ("ACCEPT", "DROP"),
    "userland_proxy": ("on", "off"),
    "ip6tables": ("on", "off"),
    "firewall_backend": ("iptables", "nftables"),
    "engine": (),
}
#: the run's fact each condition reads, where it is named differently
FACT = {"engine": "engine_version"}
#: conditions on Docker Engine itself: on a run whose engine is not Docker (the fact `engine_kind`: cni, podman)
#: an expectation under one of them is Docker's only (Verdict.docker_only)
DOCKER_ENGINE = ("engine",)
#: the engines that are not Docker (the fact `engine_kind`), as reports name them
ENGINE_KINDS = {"cni": "CNI", "podman": "Podman"}
VERSION_RE = re.compile(r"^\s*(<=|>=|<|>|==)?\s*(\d+(?:\.\d+){0,2})\s*$")
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

When = tuple[tuple[str, str], ...]


def parse(when: Mapping[str, str] | None, what: str) -> When:
    """A scenario's `when={...}` as a sorted tuple; ValueError naming the problem."""
    if when is None:
        return ()
    if not isinstance(when, Mapping):
        raise ValueError(f"{what}: when= takes a dict such as {{'forward_policy': 'DROP'}}")
    out = []
    for key, value in when.items():
        if key not in KEYS:
            raise ValueError(f"{what}: unknown condition {key!r}; conditions are {', '.join(sorted(KEYS))}")
        allowed = KEYS[key]
        if not allowed:
            m = VERSION_RE.match(value) if isinstance(value, str) else None
            if m is None:
                raise ValueError(f"{what}: {key}={value!r}; use a release such as '28', '<28' or '>=20.10'")
            out.append((key, f"{m.group(1) or ''}{m.group(2)}"))
            continue
        match = next((v for v in allowed if isinstance(value, str) and v.lower() == value.lower()), None)
        if match is None:
            raise ValueError(f"{what}: {key}={value!r}; use one of {', '.join(allowed)}")
        out.append((key, match))
    return tuple(sorted(out))


def text(when: When) -> str:
    return ", ".join(f"{k}{v}" if v[0] in "<>=" else f"{k}={v}" for k, v in when)


def facts_of(environment: Mapping[str, Any], node: str | None) -> dict[str, str]:
    """The facts a condition is evaluated on for an expectation about `node`: that node's (FORWARD policy...)
    over the run's (userland proxy, and the policy a backend emulates for every node)."""
    out = {k: str(environment[FACT.get(k, k)]) for k in KEYS if environment.get(FACT.get(k, k)) is not None}
    nodes = environment.get("nodes") or {}
    # a node of its own (its facts, or none: a node netlab cannot read), else the run's first node
    mine = nodes.get(node) if node is not None else next(iter(nodes.values()), None)
    for k, v in (mine or {}).items():
        if k in KEYS and v is not None:
            out[k] = str(v).split()[0]  # "ACCEPT (no filter table)" is ACCEPT
    return out


def holds(when: When, facts: Mapping[str, str]) -> bool | None:
    """Whether the condition holds on these facts; None when a fact it needs is unknown."""
    for key, value in when:
        if key not in facts:
            return None
        if not _matches(key, value, facts[key]):
            return False
    return True


def _matches(key: str, wanted: str, fact: str) -> bool:
    if KEYS.get(key):
        return fact == wanted
    m = VERSION_RE.match(wanted)
    have = _release(fact)
    if m is None or have is None:
        return False
    op, version = m.group(1), _release(m.group(2))
    assert version is not None
    have = have[: len(version)]  # releases compare at the precision asked: "28" is every 28.x, ">29" is 30 on
    return bool(OPS[op](have, version)) if op in OPS else have == version


def _release(text: str) -> tuple[int, ...] | None:
    m = re.match(r"\s*(\d+(?:\.\d+)*)", text)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None
