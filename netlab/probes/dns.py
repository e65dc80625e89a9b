"""DNS wire format, just enough for netlab: build an A or AAAA query, parse an answer, answer a query.

Used by the dns:NAME probe and by the resolvers netlab runs itself (the run's upstream, which
answers NXDOMAIN so no query ever leaves the machine, and the netns backend's embedded DNS).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address

from netlab.model.dockerrules import AAAA_KEY

TYPE_A = 1
TYPE_AAAA = 28
CLASS_IN = 1
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.strip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad DNS label in {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def query(name: str, qid: int, qtype: int = TYPE_A) -> bytes:
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD=1, one question
    return header + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def _skip_name(data: bytes, pos: int) -> int:
    while True:
        length = data[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + length


def _read_name(data: bytes, pos: int) -> str:
    labels = []
    while data[pos]:
        length = data[pos]
        labels.append(data[pos + 1 : pos + 1 + length].decode("ascii", "replace"))
        pos += 1 + length
    return ".".join(labels)


def parse_response(data: bytes) -> tuple[int, int, list[IPv4Address | IPv6Address]]:
    """(id, rcode, A and AAAA addresses) of a response; raises ValueError on garbage."""
    if len(data) < 12:
        raise ValueError("short DNS message")
    qid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", data[:12])
    if not flags & 0x8000:
        raise ValueError("not a response")
    pos = 12
    for _ in range(qd):
        pos = _skip_name(data, pos) + 4
    addrs: list[IPv4Address | IPv6Address] = []
    for _ in range(an):
        pos = _skip_name(data, pos)
        rtype, _, _, rdlen = struct.unpack("!HHIH", data[pos : pos + 10])
        pos += 10
        if rtype == TYPE_A and rdlen == 4:
            addrs.append(IPv4Address(data[pos : pos + 4]))
        elif rtype == TYPE_AAAA and rdlen == 16:
            addrs.append(IPv6Address(data[pos : pos + 16]))
        pos += rdlen
    return qid, flags & 0x000F, addrs


def answer(request: bytes, zone: Mapping[str, IPv4Address | str]) -> bytes | None:
    """The response to a query: A records from `zone` (lower-case names), AAAA records from its "NAME AAAA" keys,
    NXDOMAIN for a name it has neither of; a name with no address of the asked type: NOERROR with no answer, as
    Docker's embedded DNS answers AAAA for a container on IPv4-only networks."""
    if len(request) < 17:
        return None
    qid, flags, qd, _, _, _ = struct.unpack("!HHHHHH", request[:12])
    if flags & 0x8000 or qd != 1:
        return None
    end = _skip_name(request, 12)
    question = request[12 : end + 4]
    name = _read_name(request, 12).lower().rstrip(".")
    qtype = struct.unpack("!H", request[end : end + 2])[0]
    found, found6 = zone.get(name), zone.get(name + AAAA_KEY)
    known = found is not None or found6 is not None
    rcode = NOERROR if known else NXDOMAIN
    answers = b""
    if found is not None and qtype == TYPE_A:
        answers = struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, 600, 4) + IPv4Address(found).packed
    elif found6 is not None and qtype == TYPE_AAAA:
        answers = struct.pack("!HHHIH", 0xC00C, TYPE_AAAA, CLASS_IN, 600, 16) + IPv6Address(found6).packed
    rflags = 0x8000 | 0x0400 * known | (flags & 0x0100) | 0x0080 | rcode
    header = struct.pack("!HHHHHH", qid, rflags, 1, 1 if answers else 0, 0, 0)
    return header + question + answers
