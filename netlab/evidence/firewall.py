"""Firewall evidence: each node namespace's iptables rules, before and after, as a diff.

`iptables-save` is the lossless view of what iptables-nft writes; iptables-legacy tables (user-mode
Linux, old hosts) are read with iptables-legacy-save. A node's baseline is its ruleset with the Docker
daemon running but none of the scenario's networks created (the backends take it), so the diff of the
first stage is what the scenario's drivers added, and each later stage's diff is what that stage changed.
Counters and comments are dropped; rules are compared as text, per table and chain.

Containers' own namespaces are read apart (`save_many`): Docker writes rules there too, for its
embedded DNS (a DNAT of 127.0.0.11:53 to the resolver's real ports), and they are reported as that,
not mixed into the node's.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from typing import Any

from netlab import nsthread
from netlab.backends.base import Deployment
from netlab.kernel.iptables import SAVE6_TOOLS, SAVE_TOOLS
from netlab.model.topology import EndpointKind, Forward, Route, Stage
from netlab.probes.nftrace import nft_tables

Tables = dict[str, dict[str, Any]]  # table -> {"policies": {chain: policy}, "rules": [rule lines]}


def save(netns: str, flavour: str | None = None) -> str:
    """The namespace's rules as iptables-save prints them ('' when the tool is missing), followed by the
    views the main one cannot show, as pseudo-tables in the same format:
    `*legacy:<table>` for iptables-legacy tables next to nft-based ones (iptables-nft cannot see them),
    `*ip6:<table>` for ip6tables' (Docker's IPv6 rules), and `*nft:<family> <name>` for native nftables tables
    (not iptables-nft's own). All are looked for without starting a process (the kernel's table lists), so a
    namespace without them costs nothing."""
    text = ""
    used = None
    for tool in _tools(flavour):
        if shutil.which(tool):
            try:
                text, used = nsthread.run(netns, [tool]), tool
                break
            except subprocess.CalledProcessError:
                continue
    return text + _other_views(netns, used)


def save_many(namespaces: Sequence[str], flavour: str | None = None) -> dict[str, str]:
    """`save` for many namespaces (containers' own), their iptables-save processes run side by side."""
    tool = next((t for t in _tools(flavour) if shutil.which(t)), None)
    texts = dict.fromkeys(namespaces, "")
    if tool is not None:
        done_all = nsthread.run_many([(n, [tool], None) for n in namespaces])
        for netns, done in zip(namespaces, done_all, strict=True):
            texts[netns] = done.stdout if done.returncode == 0 else ""
    return {n: text + _other_views(n, tool) for n, text in texts.items()}


def _tools(flavour: str | None) -> list[str]:
    return [SAVE_TOOLS[flavour]] if flavour in SAVE_TOOLS else [*SAVE_TOOLS.values(), "iptables-save"]


def _other_views(netns: str, used: str | None) -> str:
    text = ""
    if used != SAVE_TOOLS["iptables-legacy"] and _legacy_tables(netns) and shutil.which(SAVE_TOOLS["iptables-legacy"]):
        with contextlib.suppress(subprocess.CalledProcessError):
            legacy = nsthread.run(netns, [SAVE_TOOLS["iptables-legacy"]])
            text += "\n" + "\n".join(f"*legacy:{x[1:]}" if x.startswith("*") else x for x in legacy.splitlines())
    tables = nft_tables(netns)
    six = SAVE6_TOOLS["iptables-legacy"] if _legacy_tables(netns, 6) else None
    if any(t[0] == "ip6" and t in IPTABLES_NFT_TABLES for t in tables):
        six = SAVE6_TOOLS["iptables-nft"]
    if six is not None and shutil.which(six):
        with contextlib.suppress(subprocess.CalledProcessError):
            saved6 = nsthread.run(netns, [six])
            text += "\n" + "\n".join(f"*ip6:{x[1:]}" if x.startswith("*") else x for x in saved6.splitlines())
    native = [t for t in tables if t not in IPTABLES_NFT_TABLES]
    if native and shutil.which("nft"):
        for family, name in native:
            with contextlib.suppress(subprocess.CalledProcessError):
                text += "\n" + nft_as_save(family, name, nsthread.run(netns, ["nft", "list", "table", family, name]))
    return text


def _legacy_tables(netns: str, version: int = 4) -> list[str]:
    """x_tables' (iptables-legacy's) tables of the namespace: /proc/net/ip_tables_names (ip6_tables_names)
    read from inside."""
    with nsthread.entered(netns):
        try:
            with open(f"/proc/thread-self/net/ip{'6' if version == 6 else ''}_tables_names") as f:
                return f.read().split()
        except OSError:
            return []


#: the tables iptables-nft (and ip6tables-nft) keep in nf_tables: iptables-save shows them already
IPTABLES_NFT_TABLES = {(f, t) for f in ("ip", "ip6") for t in ("filter", "nat", "mangle", "raw", "security")}


def nft_as_save(family: str, name: str, listing: str) -> str:
    """`nft list table` output in iptables-save's shape, so one parser and one diff serve both:
    chains become `:chain policy`, each statement `-A chain statement`."""
    lines = [f"*nft:{family} {name}"]
    chain = None
    for raw in listing.splitlines():
        line = raw.strip()
        if line.startswith("chain "):
            chain = line.split()[1]
            lines.append(f":{chain} -")
        elif line == "}" or line.startswith("table ") or not line or chain is None:
            continue
        elif line.startswith("type ") and "policy" in line:
            policy = line.split("policy", 1)[1].strip(" ;")
            lines[-1] = f":{chain} {policy}"
        else:  # counters change with traffic, not with rules
            lines.append(f"-A {chain} " + re.sub(r"counter packets \d+ bytes \d+", "counter", line))
    return "\n".join([*lines, "COMMIT", ""])


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


def touched_by(stage: Stage) -> bool:
    """Docker writes rules when containers join or leave networks (and a shim is a link of netlab's);
    a route added on a peer or a node, or a router's forwarding, changes no rule."""
    return any(not isinstance(a, Route | Forward) for a in stage.actions)


def node_changes(dep: Deployment, seen: dict[str, str], reread: bool = True) -> dict[str, Any]:
    """Per node: what the stage changed in its rules (the first stage: since the daemon's own baseline).
    Without `reread` the rules are not read again (under user-mode Linux one iptables-save costs seconds):
    `"read": false` says so."""
    out: dict[str, Any] = {}
    for node, (netns, _) in dep.firewall_baseline.items():
        tool = dep.facts.get("firewall", "iptables-nft")
        if not reread:
            out[node] = {"tool": tool, "changes": {}, "read": False}
            continue
        now = save(netns, dep.facts.get("firewall"))
        out[node] = {"tool": tool, "changes": diff(seen[node], now)}
        seen[node] = now
    return out


def read_only(dep: Deployment) -> dict[str, Any]:
    """Per node netlab only reads (`netlab scan`): the rules of its firewall that name one of the topology's
    bridges, subnets or container addresses, by table and chain, as iptables-save prints them. Nothing is
    diffed: the rules were there before netlab looked, and the rest of the machine's firewall is not shown."""
    t = dep.topology
    words = {n.bridge_name for n in t.networks if n.bridge_name}
    words |= {str(s) for n in t.networks for s in n.subnets}
    addresses = {
        str(a.address) for ep in dep.endpoints.values() if ep.kind == EndpointKind.CONTAINER for a in ep.addresses
    }
    words |= {f"{a}/32" for a in addresses}
    out: dict[str, Any] = {}
    for node, netns in dep.firewall_read_only.items():
        tables: dict[str, dict[str, list[str]]] = {}
        table = ""
        for line in save(netns, dep.facts.get("firewall")).splitlines():
            if line.startswith("*"):
                table = line[1:]
                continue
            if not line.startswith("-A "):
                continue
            tokens = line.split()
            if any(tok in words or tok.split(":")[0] in addresses for tok in tokens):
                tables.setdefault(table, {}).setdefault(tokens[1], []).append(line)
        out[node] = {"tool": dep.facts.get("firewall", "iptables-nft"), "read_only": True, "rules": tables}
    return out


def container_changes(dep: Deployment, seen: dict[str, str], reread: bool = True) -> dict[str, Any]:
    """Per container with a namespace of its own (on a node netlab can read): what the stage changed in
    the rules inside it. Only Docker writes there (its embedded DNS: DNAT of 127.0.0.11:53 to the
    resolver's ports), so these are reported apart from the node's. Containers without rules are left out."""
    nodes = {n: ep.netns for n, ep in dep.endpoints.items() if ep.kind == EndpointKind.HOST}
    inside = {
        name: ep.netns
        for name, ep in dep.endpoints.items()
        if ep.kind == EndpointKind.CONTAINER
        and ep.netns is not None
        and ep.node in dep.firewall_baseline
        and ep.netns != nodes.get(ep.node or "")
    }
    tool = dep.facts.get("firewall", "iptables-nft")
    if not reread:
        return {c: {"tool": tool, "changes": {}, "read": False} for c in inside if seen.get(c)}
    texts = save_many(list(inside.values()), dep.facts.get("firewall"))
    out: dict[str, Any] = {}
    for c, netns in inside.items():
        now = texts.get(netns, "")
        changes = diff(seen.get(c, ""), now)
        if changes:
            out[c] = {"tool": tool, "changes": changes}
        seen[c] = now
    return out
