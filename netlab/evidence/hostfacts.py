"""What each Docker host of the run is like where it decides reachability: the FORWARD policy of its filter
table (Docker 20.10 sets DROP only when it turned IP forwarding on itself; a host whose forwarding was already
on keeps ACCEPT, and routed traffic then reaches unpublished container ports), its IP forwarding and
br_netfilter's bridge-nf-call-iptables. Read from the node's own namespace after the first stage's
firewall reading; nodes netlab cannot enter (remote engines) have none."""

from __future__ import annotations

from typing import Any

from netlab import nsthread
from netlab.backends.base import Deployment

SYSCTLS = {"ip_forward": "net.ipv4.ip_forward", "bridge_nf_call_iptables": "net.bridge.bridge-nf-call-iptables"}


def forward_policy(iptables_save: str) -> str | None:
    """The filter table's FORWARD policy in iptables-save text (None: no filter table, so nothing drops)."""
    table = None
    for line in iptables_save.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif table == "filter" and line.startswith(":FORWARD "):
            return line.split()[1]
    return None


def nodes(dep: Deployment, firewall: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per node netlab can read: {"forward_policy", "ip_forward", "bridge_nf_call_iptables"}, `firewall` being
    each node's iptables-save text now."""
    out: dict[str, dict[str, Any]] = {}
    for node, (netns, _) in dep.firewall_baseline.items():
        facts: dict[str, Any] = {"forward_policy": forward_policy(firewall.get(node, "")) or "ACCEPT (no filter table)"}
        for name, key in SYSCTLS.items():
            try:
                facts[name] = nsthread.read_sysctl(netns, key)
            except OSError:
                facts[name] = None  # br_netfilter missing, or the namespace is gone
        out[node] = facts
    return out
