"""What each Docker host of the run is like where it decides reachability: the FORWARD policy of its filter
table (Docker 20.10 sets DROP only when it turned IP forwarding on itself; a host whose forwarding was already
on keeps ACCEPT, and routed traffic then reaches unpublished container ports), its IP forwarding and
br_netfilter's bridge-nf-call-iptables. Read from the node's own namespace after the first stage's
firewall reading; nodes netlab cannot enter (remote engines) have none."""

from __future__ import annotations

from typing import Any

from netlab import nsthread
from netlab.backends.base import Deployment

SYSCTLS = {
    "ip_forward": "net.ipv4.ip_forward",
    "bridge_nf_call_iptables": "net.bridge.bridge-nf-call-iptables",
    "ipv6_forwarding": "net.ipv6.conf.all.forwarding",
}


#: the filter tables whose FORWARD chain a forwarded packet crosses: iptables-nft's (or iptables-legacy-save's,
#: where the rules are legacy) and iptables-legacy's next to nft-based ones (firewall.save's `*legacy:filter`)
FILTER_TABLES = ("filter", "legacy:filter")
#: ip6tables' filter tables (firewall.save's `*ip6:filter`)
IP6_FILTER_TABLES = ("ip6:filter",)
#: a node whose rules were read but hold no filter table: nothing filters forwarded packets
NO_FILTER = "ACCEPT (no filter table)"


def forward_policy(iptables_save: str, tables: tuple[str, ...] = FILTER_TABLES) -> str | None:
    """The FORWARD policy of the filter table in iptables-save text (iptables-nft-save's, whose
    `# Warning: iptables-legacy tables present` lines are comments like any other, or iptables-legacy-save's),
    with firewall.save's `*legacy:filter` beside it. A packet crosses both when both exist, so DROP in either
    is DROP. None: no filter table in the text."""
    policies = []
    table = None
    for raw in iptables_save.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:].strip()
        elif table in tables and line.startswith(":FORWARD "):
            fields = line.split()
            if len(fields) > 1:
                policies.append(fields[1])
    if not policies:
        return None
    return "DROP" if "DROP" in policies else policies[0]


def node_forward_policy(iptables_save: str) -> str | None:
    """A node's FORWARD policy as reported: None (unknown: its rules could not be read, so conditions on it are
    undecided) for empty text, NO_FILTER when the rules were read and hold no filter table."""
    if not iptables_save.strip():
        return None
    return forward_policy(iptables_save) or NO_FILTER


def nodes(dep: Deployment, firewall: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per node netlab can read: {"forward_policy", "ip_forward", "bridge_nf_call_iptables", "ipv6_forwarding",
    "forward_policy6"}, `firewall` being each node's iptables-save text now (a policy of None: the text was empty,
    the policy is unknown; forward_policy6 None: no ip6tables filter table, nothing filters forwarded IPv6)."""
    out: dict[str, dict[str, Any]] = {}
    for node, (netns, _) in dep.firewall_baseline.items():
        text = firewall.get(node, "")
        facts: dict[str, Any] = {
            "forward_policy": node_forward_policy(text),
            "forward_policy6": forward_policy(text, IP6_FILTER_TABLES),
        }
        for name, key in SYSCTLS.items():
            try:
                facts[name] = nsthread.read_sysctl(netns, key)
            except OSError:
                facts[name] = None  # br_netfilter missing, or the namespace is gone
        out[node] = facts
    return out
