"""Early decision without a kernel: trace reports read as the sweep reads them (DropWatch), matched to the probe
they belong to, and a dropped cell closed after its grace (the real thing: tests/netns/test_early_decision.py)."""

from __future__ import annotations

import select
import socket
import struct
from ipaddress import IPv4Address

from netlab.model.results import Outcome
from netlab.model.topology import ProbeKind
from netlab.probes import nftrace, sweep

A, B, C = IPv4Address("198.18.1.2"), IPv4Address("198.18.2.2"), IPv4Address("198.18.3.2")


def _attr(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def _report(trace_id: int, table: str, chain: str, verdict: int, net: bytes = b"", l4: bytes = b"") -> bytes:
    """One NFT_MSG_TRACE as the kernel sends it: a rule's verdict (`net`: the packet's headers, first report only)."""
    body = struct.pack("=BBH", 2, 0, 0)
    body += _attr(nftrace.TRACE_TABLE, table.encode() + b"\0") + _attr(nftrace.TRACE_CHAIN, chain.encode() + b"\0")
    body += _attr(nftrace.TRACE_RULE_HANDLE, struct.pack("!Q", 9))
    body += _attr(nftrace.TRACE_TYPE, struct.pack("!I", 3)) + _attr(nftrace.TRACE_ID, struct.pack("!I", trace_id))
    body += _attr(nftrace.TRACE_VERDICT, _attr(nftrace.VERDICT_CODE, struct.pack("!i", verdict)))
    if net:
        body += _attr(nftrace.TRACE_NETWORK_HEADER, net)
    if l4:
        body += _attr(nftrace.TRACE_TRANSPORT_HEADER, l4)
    return struct.pack("=IHHII", 16 + len(body), nftrace.NFT_MSG_TRACE, 0, 0, 0) + body


def _ip(src: IPv4Address, dst: IPv4Address, proto: int) -> bytes:
    return bytes.fromhex("45000054000040004000")[:9] + bytes([proto]) + b"\0\0" + src.packed + dst.packed


def _echo(kind: int, ident: int, seq: int) -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, seq)


def test_an_echo_s_id_and_sequence_are_read_from_its_trace() -> None:
    (e,) = nftrace.parse("ns", _report(1, "filter", "FORWARD", 0, _ip(A, B, 1), _echo(8, 0x1234, 5)))
    assert (e.icmp_type, e.icmp_echo) == (8, (0x1234, 5))
    (tcp,) = nftrace.parse("ns", _report(1, "filter", "FORWARD", 0, _ip(A, B, 6), struct.pack("!HH", 40000, 80)))
    assert tcp.icmp_echo is None and (tcp.sport, tcp.dport) == (40000, 80)


def test_a_drop_reported_without_headers_gets_its_packet_s_first_headers() -> None:
    ours = nftrace.table_name("ab12")
    inside, outside = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    inside.setblocking(False)
    watch = nftrace.DropWatch({"/run/netns/h": inside}, ours)
    try:
        # the first report (netlab's own table marks the packet), then Docker's rule drops it: no headers any more
        outside.send(_report(7, ours, "pre", -1, _ip(A, B, 1), _echo(8, 77, 3)))
        outside.send(_report(7, "filter", "DOCKER-ISOLATION-STAGE-2", 0))
        outside.send(_report(8, "filter", "FORWARD", 0))  # a packet whose first report was never read: unknown
        outside.send(_report(9, ours, "pre", 0, _ip(A, C, 1), _echo(8, 77, 4)))  # netlab's own table never counts
        (drop,) = watch.drops(inside.fileno())
        assert (drop.chain, drop.saddr, drop.daddr, drop.icmp_echo) == ("DOCKER-ISOLATION-STAGE-2", A, B, (77, 3))
        assert (watch.cost.reports, watch.cost.packets) == (4, 2) and watch.drops(inside.fileno()) == []
        # a later packet with the same trace id (an skb address the kernel reused) starts anew in netlab's chain
        outside.send(_report(7, ours, "pre", -1, _ip(A, C, 1), _echo(8, 78, 1)))
        outside.send(_report(7, "filter", "FORWARD", 0))
        (again,) = watch.drops(inside.fileno())
        assert (again.daddr, again.icmp_echo) == (C, (78, 1))
    finally:
        watch.close()
        outside.close()


class _Owner:
    pass


def test_a_traced_drop_is_matched_to_its_probe_by_its_own_socket_or_echo() -> None:
    owner = _Owner()
    ping = sweep.Shot(0, ProbeKind.ICMP, B)
    web = sweep.Shot(1, ProbeKind.TCP, B, 80)
    flows: dict[sweep.FlowKey, list[tuple[object, sweep.Shot]]] = {
        ("icmp", 4, 77, 3): [(owner, ping)],
        (6, A, 40000): [(owner, web)],
    }

    def event(src: IPv4Address, dst: IPv4Address, proto: int, l4: bytes) -> nftrace.Event:
        (e,) = nftrace.parse("ns", _report(1, "filter", "FORWARD", 0, _ip(src, dst, proto), l4))
        return e

    whose = sweep._whose
    assert whose(event(A, B, 1, _echo(8, 77, 3)), flows) == ((owner, ping), "request")  # type: ignore[arg-type]
    assert whose(event(B, A, 1, _echo(0, 77, 3)), flows) == ((owner, ping), "reply")  # type: ignore[arg-type]
    assert whose(event(A, C, 1, _echo(8, 77, 3)), flows) is None  # type: ignore[arg-type]  # another source's echo
    syn = struct.pack("!HH", 40000, 80)
    assert whose(event(A, B, 6, syn), flows) == ((owner, web), "request")  # type: ignore[arg-type]
    synack = struct.pack("!HH", 80, 40000)
    assert whose(event(B, A, 6, synack), flows) == ((owner, web), "reply")  # type: ignore[arg-type]
    assert whose(event(C, B, 6, syn), flows) is None  # type: ignore[arg-type]
    # Linux gives sockets connected to different destinations one port: the destination tells them apart
    ssh = sweep.Shot(2, ProbeKind.TCP, C, 22)
    flows[(6, A, 40000)].append((owner, ssh))
    assert whose(event(A, C, 6, struct.pack("!HH", 40000, 22)), flows) == ((owner, ssh), "request")  # type: ignore[arg-type]
    assert whose(event(B, A, 6, synack), flows) == ((owner, web), "reply")  # type: ignore[arg-type]
    # a reply neither of them can be told by (a container behind a DNAT answering): left to its timeout
    assert whose(event(IPv4Address("198.18.9.9"), A, 6, struct.pack("!HH", 8080, 40000)), flows) is None  # type: ignore[arg-type]


def test_a_dropped_cell_is_closed_after_its_grace_unless_an_answer_came_first() -> None:
    drop = nftrace.parse("ns", _report(1, "filter", "DOCKER", 0, _ip(A, B, 1), _echo(8, 77, 3)))[0]
    with select.epoll() as poll:
        sw = sweep._Sweep([sweep.Shot(0, ProbeKind.ICMP, B), sweep.Shot(1, ProbeKind.ICMP, C)], 1.0, poll, {})
        sw.drop_seen(sw.shots[0], drop, "request")
        due = sw.next_settle()
        assert due is not None
        sw.settle(due - 0.01)
        assert sw.results == {}  # a REJECT's ICMP error may still come: it would say more
        sw.settle(due)
        answer = sw.results[0]
        assert answer.outcome is Outcome.UNREACHABLE and not answer.timed_out
        assert "dropped by a rule of ip filter DOCKER" in answer.detail
        assert sw.drops == {0: (drop, "request")}
        # an answer that came before the grace ended stands
        sw.results[1] = sweep.Answer(Outcome.UNREACHABLE, None, "ICMP port unreachable from x")
        sw.drop_seen(sw.shots[1], drop, "reply")
        sw.settle()
        assert sw.results[1].detail == "ICMP port unreachable from x" and 1 not in sw.drops
