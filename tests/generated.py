"""Comparing a generated document (docs/cni.md, docs/podman.md) with a fresh run's output: without the names that
change with every run (Docker's bridge names br-<12 hex>, from the network's id; the CNI plugins' chains
CNI-<hash of network and container id>) and the order those sort in."""

from __future__ import annotations

import re

RULES = "'s rules (chain, rules added): "


def normalised(text: str) -> list[str]:
    text = re.sub(r"br-[0-9a-f]{12}", "br-*", text)
    text = re.sub(r"CNI-(DN-)?[0-9a-f]{12,}", r"CNI-\1*", text)
    out = []
    for line in text.splitlines():
        if RULES in line:
            head, _, items = line.partition(RULES)
            line = head + RULES + ", ".join(sorted(items.split(", ")))
        out.append(line)
    return out
