"""The probe engine on real namespaces: every kind of answer, one loop or several, true round trips."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hostsnap import HostSnapshot

from netlab import Scenario, nsthread
from netlab.backends import naming
from netlab.backends.base import Deployment
from netlab.backends.netns.backend import NetnsBackend
from netlab.model.probing import Answer
from netlab.model.results import Outcome
from netlab.model.topology import ProbeKind
from netlab.probes.sweep import Shot, sweep_all
from netlab.runner import deployed

TIMEOUT = 0.5


@pytest.fixture(scope="module")
def lab() -> Iterator[Deployment]:
    """Six containers on one bridge; c1 drops ICMP, c2 rejects it as host-prohibited."""
    before = HostSnapshot.take()
    s = Scenario("probes")
    net = s.network("n", driver="bridge")
    for i in range(6):
        s.container(f"c{i}", net)
    with deployed(NetnsBackend(), s.build(), naming.new_run_id(), {}) as dep:
        for name, target in (("c1", ["DROP"]), ("c2", ["REJECT", "--reject-with", "icmp-host-prohibited"])):
            ns = dep.endpoints[name].netns
            assert ns is not None
            nsthread.run(ns, ["iptables", "-A", "INPUT", "-p", "icmp", "--icmp-type", "echo-request", "-j", *target])
        yield dep
    assert not before.diff(HostSnapshot.take()), before.describe(HostSnapshot.take())


def _jobs(dep: Deployment, kinds: tuple[ProbeKind, ...] = (ProbeKind.ICMP,)) -> tuple[list, dict[int, tuple]]:
    jobs, what, i = [], {}, 0
    names = sorted(n for n, ep in dep.endpoints.items() if ep.kind.value == "container")
    for src in names:
        shots = []
        for dst in names:
            if src == dst:
                continue
            for kind in kinds:
                addr = dep.endpoints[dst].primary()
                assert addr is not None
                shots.append(Shot(i, kind, addr, 9 if kind is not ProbeKind.ICMP else None))
                what[i] = (src, dst, kind)
                i += 1
        netns = dep.endpoints[src].netns
        assert netns is not None
        jobs.append((netns, shots))
    return jobs, what


def _icmp_verdicts(answers: dict[int, Answer], what: dict[int, tuple]) -> dict[tuple, tuple[Outcome, bool]]:
    return {(s, d): (answers[i].outcome, answers[i].timed_out) for i, (s, d, _) in what.items()}


def test_icmp_answers_reachable_dropped_and_rejected(lab: Deployment) -> None:
    jobs, what = _jobs(lab)
    t = time.monotonic()
    answers = sweep_all(jobs, TIMEOUT, workers=1)
    elapsed = time.monotonic() - t
    for i, (src, dst, _) in what.items():
        a = answers[i]
        if dst == "c1":
            assert (a.outcome, a.timed_out) == (Outcome.UNREACHABLE, True), (src, dst, a)
        elif dst == "c2":
            assert a.outcome is Outcome.UNREACHABLE and not a.timed_out, (src, dst, a)
            assert "host administratively prohibited" in a.detail
        else:
            assert a.outcome is Outcome.REACHABLE, (src, dst, a)
            # kernel receive stamps: a true round trip, never longer than the wait itself
            assert a.rtt_ms is not None and 0 < a.rtt_ms < elapsed * 1000
    assert elapsed >= TIMEOUT  # the dropped probes were waited for, not given up early


def test_several_loops_agree_with_one(lab: Deployment) -> None:
    jobs, what = _jobs(lab)
    one = _icmp_verdicts(sweep_all(jobs, TIMEOUT, workers=1), what)
    three = _icmp_verdicts(sweep_all(jobs, TIMEOUT, workers=3), what)
    assert one == three
    assert len(one) == 30


def test_tcp_refused_and_udp_port_unreachable(lab: Deployment) -> None:
    jobs, what = _jobs(lab, (ProbeKind.TCP, ProbeKind.UDP))
    answers = sweep_all(jobs, TIMEOUT)
    for i, (src, dst, kind) in what.items():
        a = answers[i]
        assert a.outcome is Outcome.UNREACHABLE, (src, dst, kind, a)
        if dst == "c1":  # only echo requests are dropped there: the port answers
            assert not a.timed_out
        if kind is ProbeKind.TCP and dst != "c1":
            assert a.detail == "TCP reset (connection refused)", a
        if kind is ProbeKind.UDP and dst != "c1":
            assert a.detail == "ICMP port unreachable", a


def test_a_namespace_that_is_gone_is_an_error_for_its_probes_only(lab: Deployment) -> None:
    jobs, what = _jobs(lab)
    jobs[0] = ("/run/netns/netlab-no-such-namespace", jobs[0][1])
    answers = sweep_all(jobs, TIMEOUT)
    first = {s.key for s in jobs[0][1]}
    assert all(answers[i].outcome is Outcome.ERROR for i in first)
    assert all("cannot probe from here" in answers[i].detail for i in first)
    assert any(answers[i].outcome is Outcome.REACHABLE for i in what if i not in first)


def test_embedded_dns_answers_on_port_53_over_udp_and_tcp_through_the_containers_dnat(lab: Deployment) -> None:
    """The resolver listens on random ports only; Docker's DNAT rules in the container make :53 work."""
    import socket

    from netlab.probes import dns
    from netlab.probes.responders import Responders

    netns = lab.endpoints["c0"].netns
    assert netns is not None
    want = lab.endpoints["c3"].primary()
    assert {w.proto for w in lab.dns_servers if w.netns == netns} == {"dns", "dnstcp"}
    assert all(w.port != 53 for w in lab.dns_servers if w.netns == netns)
    with Responders(lab.dns_servers):
        with nsthread.entered(netns):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.create_connection(("127.0.0.11", 53), timeout=2)
        with udp, tcp:
            udp.settimeout(2)
            udp.sendto(dns.query("c3", 7), ("127.0.0.11", 53))
            reply, sender = udp.recvfrom(2048)
            assert sender == ("127.0.0.11", 53)  # the SNAT back to :53
            assert dns.parse_response(reply)[2] == [want]
            q = dns.query("c3.n", 8)
            tcp.sendall(len(q).to_bytes(2, "big") + q)
            data = b""
            while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
                chunk = tcp.recv(2048)
                assert chunk, "connection closed before the answer"
                data += chunk
            assert dns.parse_response(data[2:])[2] == [want]
