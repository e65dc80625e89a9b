"""Conditions under which an expectation holds: the facts of the host and engine a verdict depends on.

Docker's truth is not the same on every machine: Docker 20.10 sets the FORWARD policy to DROP only when it
turned IP forwarding on itself, so on a host whose forwarding was already on (routers, VPN hosts) the policy
stays ACCEPT and routed traffic reaches unpublished container ports. A scenario says so by giving the
outcome per condition:

    st.expect(ext, web, "icmp", reachable=False, when={"forward_policy": "DROP"})
    st.expect(ext, web, "icmp", reachable=True, when={"forward_policy": "ACCEPT"})

The verdict checks the expectation whose condition the run's facts (Result.environment, evidence/hostfacts.py)
meet and says which applied; an expectation without a condition holds everywhere and is always checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: condition -> the values it can take (as the facts spell them)
KEYS: dict[str, tuple[str, ...]] = {
    "forward_policy": ("ACCEPT", "DROP"),
    "userland_proxy": ("on", "off"),
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
        match = next((v for v in allowed if isinstance(value, str) and v.lower() == value.lower()), None)
        if match is None:
            raise ValueError(f"{what}: {key}={value!r}; use one of {', '.join(allowed)}")
        out.append((key, match))
    return tuple(sorted(out))


def text(when: When) -> str:
    return ", ".join(f"{k}={v}" for k, v in when)


def facts_of(environment: Mapping[str, Any], node: str | None) -> dict[str, str]:
    """The facts a condition is evaluated on for an expectation about `node`: that node's (FORWARD policy...)
    over the run's (userland proxy, and the policy a backend emulates for every node)."""
    out = {k: str(v) for k, v in environment.items() if k in KEYS and v is not None}
    nodes = environment.get("nodes") or {}
    mine = nodes.get(node) if node is not None else None
    if mine is None and nodes:
        mine = next(iter(nodes.values()))
    for k, v in (mine or {}).items():
        if k in KEYS and v is not None:
            out[k] = str(v).split()[0]  # "ACCEPT (no filter table)" is ACCEPT
    return out


def holds(when: When, facts: Mapping[str, str]) -> bool | None:
    """Whether the condition holds on these facts; None when a fact it needs is unknown."""
    for key, value in when:
        if key not in facts:
            return None
        if facts[key] != value:
            return False
    return True
