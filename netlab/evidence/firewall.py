"""Firewall evidence: each node namespace's iptables rules, before and after, as a diff.

`iptables-save` is the lossless view of what iptables-nft writes; iptables-legacy tables (user-mode
Linux, old hosts) are read with iptables-legacy-save. A node's baseline is its ruleset with the Docker
daemon running but none of the scenario's networks created (the backends take it), so the diff of the
first stage is what the scenario's drivers added, and each later stage's diff is what that stage changed.
Counters and comments are dropped; rules are compared as text, per table and chain.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from typing import Any

from netlab.probes import nsthread

SAVE_TOOLS = {"iptables-nft": "iptables-nft-save", "iptables-legacy": "iptables-legacy-save"}

Tables = dict[str, dict[str, Any]]  # table -> {"policies": {chain: policy}, "rules": [rule lines]}


def save(netns: str, flavour: str | None = None) -> str:
    """The ruleset of a namespace as iptables-save prints it ('' when the tool is missing)."""
    tools = [SAVE_TOOLS[flavour]] if flavour in SAVE_TOOLS else [*SAVE_TOOLS.values(), "iptables-save"]
    for tool in tools:
        if shutil.which(tool):
            try:
                return nsthread.run(netns, [tool])
            except subprocess.CalledProcessError:
                continue
    return ""


def parse(text: str) -> Tables:
    tables: Tables = {}
    current: dict[str, Any] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            current = tables.setdefault(line[1:], {"policies": {}, "rules": []})
        elif current is None:
            continue
        elif line.startswith(":"):
            chain, policy = [*line[1:].split(), "-"][:2]
            current["policies"][chain] = policy
        elif line.startswith("-A "):
            current["rules"].append(line)
    return tables


def diff(before: str, after: str) -> dict[str, Any]:
    """What changed, per table: chains created or deleted, policies changed, rules added or removed (by chain)."""
    b, a = parse(before), parse(after)
    out: dict[str, Any] = {}
    for table in sorted(set(b) | set(a)):
        tb = b.get(table, {"policies": {}, "rules": []})
        ta = a.get(table, {"policies": {}, "rules": []})
        entry: dict[str, Any] = {}
        created = sorted(set(ta["policies"]) - set(tb["policies"]))
        deleted = sorted(set(tb["policies"]) - set(ta["policies"]))
        policies = {
            c: f"{tb['policies'][c]} -> {ta['policies'][c]}"
            for c in sorted(set(ta["policies"]) & set(tb["policies"]))
            if ta["policies"][c] != tb["policies"][c]
        }
        added: Counter[str] = Counter(ta["rules"]) - Counter(tb["rules"])
        removed: Counter[str] = Counter(tb["rules"]) - Counter(ta["rules"])
        for key, value in (
            ("chains_created", created),
            ("chains_deleted", deleted),
            ("policies", policies),
            ("added", _by_chain(ta["rules"], added)),
            ("removed", _by_chain(tb["rules"], removed)),
        ):
            if value:
                entry[key] = value
        if entry:
            out[table] = entry
    return out


def _by_chain(order: list[str], wanted: Counter[str]) -> dict[str, list[str]]:
    """The wanted rules grouped by chain, in the order the ruleset lists them."""
    left = Counter(wanted)
    out: dict[str, list[str]] = {}
    for rule in order:
        if left[rule] > 0:
            left[rule] -= 1
            out.setdefault(rule.split()[1], []).append(rule)
    return out


def rule_count(d: dict[str, Any], key: str = "added") -> int:
    return sum(len(rules) for table in d.values() for rules in table.get(key, {}).values())
