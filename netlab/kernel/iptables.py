"""The two iptables front ends Docker's rules are written with, and the tool each uses to load and to
print a ruleset. iptables-nft is what Debian's `iptables` is; iptables-legacy is used where the
kernel's nf_tables lacks what Docker's rules need (user-mode Linux 6.1 has no nat chain type)."""

from __future__ import annotations

#: what every restore is given: wait for the xtables lock (iptables-legacy's, one file for every namespace)
#: instead of failing when loads in two namespaces run side by side; iptables-nft accepts and ignores it
WAIT = "-w"
#: in order of preference
RESTORE_TOOLS = {"iptables-nft": "iptables-nft-restore", "iptables-legacy": "iptables-legacy-restore"}
SAVE_TOOLS = {"iptables-nft": "iptables-nft-save", "iptables-legacy": "iptables-legacy-save"}
#: ip6tables' tools, by the same flavour names
RESTORE6_TOOLS = {"iptables-nft": "ip6tables-nft-restore", "iptables-legacy": "ip6tables-legacy-restore"}
SAVE6_TOOLS = {"iptables-nft": "ip6tables-nft-save", "iptables-legacy": "ip6tables-legacy-save"}
