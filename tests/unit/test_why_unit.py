"""`--why` pieces that need no kernel: the nftrace message parser and the console's letters."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

from netlab.evidence import why
from netlab.model.expectations import parse_probe
from netlab.model.probing import Task
from netlab.model.results import Observation, Outcome
from netlab.probes import nftrace
from netlab.report import console
from netlab.result import result_from_json


def _attr(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def _trace(table: str, chain: str, handle: int | None, kind: int, verdict: int, net: bytes, l4: bytes = b"") -> bytes:
    body = struct.pack("=BBH", 2, 0, 0)  # nfgenmsg: family ip
    body += _attr(nftrace.TRACE_TABLE, table.encode() + b"\0") + _attr(nftrace.TRACE_CHAIN, chain.encode() + b"\0")
    if handle is not None:
        body += _attr(nftrace.TRACE_RULE_HANDLE, struct.pack("!Q", handle))
    body += _attr(nftrace.TRACE_TYPE, struct.pack("!I", kind)) + _attr(nftrace.TRACE_ID, struct.pack("!I", 7))
    if kind == 1:
        body += _attr(nftrace.TRACE_POLICY, struct.pack("!I", verdict))
    else:
        body += _attr(nftrace.TRACE_VERDICT, _attr(nftrace.VERDICT_CODE, struct.pack("!i", verdict)))
    body += _attr(nftrace.TRACE_NETWORK_HEADER, net)
    if l4:
        body += _attr(nftrace.TRACE_TRANSPORT_HEADER, l4)
    return struct.pack("=IHHII", 16 + len(body), nftrace.NFT_MSG_TRACE, 0, 0, 0) + body


IP = bytes.fromhex("45000054000040004001") + b"\0\0" + bytes([198, 18, 1, 2]) + bytes([198, 18, 2, 2])
TCP_IP = IP[:9] + bytes([6]) + IP[10:]


def test_a_rule_drop_and_a_policy_drop_are_parsed_with_their_packet() -> None:
    data = _trace("filter", "DOCKER-ISOLATION-STAGE-2", 12, 3, 0, IP) + _trace(
        "filter", "FORWARD", None, 1, 0, TCP_IP, struct.pack("!HH", 40000, 80)
    )
    rule, policy = nftrace.parse("/run/netns/x", data)
    assert (rule.kind, rule.table, rule.chain, rule.handle, rule.verdict) == (
        "rule",
        "filter",
        "DOCKER-ISOLATION-STAGE-2",
        12,
        0,
    )
    assert (rule.family, rule.saddr, rule.daddr, rule.proto) == (
        "ip",
        IPv4Address("198.18.1.2"),
        IPv4Address("198.18.2.2"),
        1,
    )
    assert (policy.kind, policy.chain, policy.handle, policy.verdict, policy.dport, policy.sport) == (
        "policy",
        "FORWARD",
        None,
        0,
        80,
        40000,
    )


def test_other_netlink_messages_and_garbage_are_skipped() -> None:
    assert nftrace.parse("x", struct.pack("=IHHII", 16, 3, 0, 0, 0)) == []
    assert nftrace.parse("x", b"\x01\x02") == []


def test_explained_cells_get_letters_in_the_observed_table_and_are_listed() -> None:
    icmp = parse_probe("icmp")
    obs = [
        Observation("initial", "a", "b", IPv4Address("198.18.2.2"), icmp, Outcome.UNREACHABLE, why="dropped by X"),
        Observation("initial", "b", "a", IPv4Address("198.18.1.2"), icmp, Outcome.UNREACHABLE, why="no route"),
        Observation("initial", "a", "a2", IPv4Address("198.18.1.3"), icmp, Outcome.REACHABLE),
    ]
    assert console.why_letters(obs) == {("a", "b", "icmp"): "a", ("b", "a", "icmp"): "b"}
    lines = console.why_lines(obs, color=False)
    assert lines[1:] == ["    a a -> b icmp: dropped by X", "    b b -> a icmp: no route"]


def test_why_goes_into_the_json_observation_and_the_html_hover() -> None:
    import dataclasses
    import json

    import jsonschema
    from unit_helpers import schema1

    from netlab import loader
    from netlab.backends.fake import FakeBackend
    from netlab.report import html
    from netlab.runner import run_topology

    topology = loader.load("bridge")
    result = run_topology(topology, backend=FakeBackend())
    i = next(k for k, o in enumerate(result.observations) if o.outcome is Outcome.UNREACHABLE)
    o = result.observations[i]
    result.observations[i] = dataclasses.replace(o, why="dropped by ip filter FORWARD rule `-A FORWARD -j DROP`")
    doc = json.loads(json.dumps(result.to_json()))
    jsonschema.validate(doc, schema1())
    assert doc["observations"][i]["why"].startswith("dropped by")
    assert all("why" not in x for k, x in enumerate(doc["observations"]) if k != i)  # only when explained
    assert result_from_json(doc, topology).observations[i].why == result.observations[i].why
    hover = html._cell_detail(result, o.stage, o.src, o.dst, str(o.probe))
    assert "why: dropped by ip filter FORWARD" in hover


def test_later_events_of_a_packet_get_its_headers_and_replies_are_told_from_reverse_requests() -> None:
    from netlab.model.probing import Task

    a, b = IPv4Address("198.18.1.2"), IPv4Address("198.18.2.2")
    first = nftrace.Event("ns", 7, "rule", "ip", "filter", "FORWARD", 3, -3, a, b, 1, None, None, 8)
    later = nftrace.Event(
        "ns", 7, "rule", "ip", "filter", "DOCKER-ISOLATION-STAGE-2", 9, 0, None, None, None, None, None
    )
    orphan = nftrace.Event("other", 7, "rule", "ip", "filter", "FORWARD", 4, 0, None, None, None, None, None)
    filled = nftrace.with_headers([first, later, orphan])
    assert [(e.chain, e.saddr, e.daddr, e.icmp_type) for e in filled] == [
        ("FORWARD", a, b, 8),
        ("DOCKER-ISOLATION-STAGE-2", a, b, 8),
    ]  # the orphan (another namespace, no headers seen) is left out
    task = Task("x", "y", parse_probe("icmp"), b)
    reply = nftrace.Event("ns", 8, "rule", "ip", "filter", "FORWARD", 3, 1, b, a, 1, None, None, 0)
    reverse_request = nftrace.Event("ns", 9, "rule", "ip", "filter", "FORWARD", 3, 1, b, a, 1, None, None, 8)
    assert why._matches(filled[1], {a}, b, task) == "request"
    assert why._matches(reply, {a}, b, task) == "reply"
    assert why._matches(reverse_request, {a}, b, task) is None
    tcp = Task("x", "y", parse_probe("tcp:80"), b)
    syn = nftrace.Event("ns", 10, "rule", "ip", "filter", "FORWARD", 3, 0, a, b, 6, 80, 40000)
    other_port = nftrace.Event("ns", 11, "rule", "ip", "filter", "FORWARD", 3, 0, a, b, 6, 22, 40001)
    assert why._matches(syn, {a}, b, tcp) == "request" and why._matches(other_port, {a}, b, tcp) is None


def test_a_refused_probe_is_the_destinations_kernel_not_a_rule() -> None:
    task = Task("ext", "h1", parse_probe("tcp:9000"), IPv4Address("198.18.0.254"))
    said = why._refused(task, "TCP reset (connection refused); Docker discarded h1's published port 9000")
    assert said == "no rule dropped it: h1 answered with a TCP reset: Docker discarded h1's published port 9000"
    bare = why._refused(task._replace(probe=parse_probe("udp:53")), "ICMP port unreachable")
    assert bare == "no rule dropped it: h1 answered with an ICMP port unreachable: nothing listens on udp:53 there"
    assert why._refused(task, "no answer within 1 s") is None
