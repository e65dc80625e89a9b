"""Probe specs as written in scenarios: `icmp`, `tcp:PORT`, `udp:PORT`, `dns:NAME`, and over IPv6 `icmp6`,
`tcp6:PORT`, `udp6:PORT`, `dns6:NAME`."""

from __future__ import annotations

import re

from netlab.model.topology import ICMP, ICMP6, Probe, ProbeKind

DNS_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?\Z")


def parse_probe(text: str) -> Probe:
    """Parse a probe spec; raises ValueError with a message naming what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"bad probe {text!r}: expected a string such as 'icmp', 'tcp:80', 'udp:53', 'dns:c2'")
    spec = text.strip().lower()
    if spec in ("icmp", "icmp6"):
        return ICMP if spec == "icmp" else ICMP6
    kind, sep, arg = spec.partition(":")
    v6 = kind.endswith("6")
    kind = kind.removesuffix("6")
    if not sep or kind not in ("tcp", "udp", "dns"):
        raise ValueError(
            f"bad probe {text!r}: use 'icmp', 'tcp:PORT', 'udp:PORT' or 'dns:NAME' (over IPv6: 'icmp6', 'tcp6:PORT', "
            "'udp6:PORT', 'dns6:NAME')"
        )
    if kind == "dns":
        if not DNS_NAME.match(arg):
            raise ValueError(f"bad probe {text!r}: {arg!r} is not a DNS name")
        return Probe(ProbeKind.DNS, name=arg, v6=v6)
    if not (arg.isascii() and arg.isdigit()) or not 1 <= int(arg) <= 65535:
        raise ValueError(f"bad probe {text!r}: port must be a number from 1 to 65535")
    return Probe(ProbeKind(kind), port=int(arg), v6=v6)
