"""Remote engines' exec probing: the busybox script and the parsing of what it prints."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from netlab.cli.run import parse_nodes
from netlab.errors import UsageError
from netlab.model.expectations import parse_probe
from netlab.model.probing import Task
from netlab.model.results import Outcome
from netlab.model.topology import Probe, ProbeKind
from netlab.probes import shells


def test_one_script_starts_every_probe_of_a_source_at_once() -> None:
    tasks = [
        Task("a", "b", parse_probe("icmp"), IPv4Address("198.18.0.3")),
        Task("a", "b", parse_probe("tcp:80"), IPv4Address("198.18.0.3")),
        Task("a", "b", parse_probe("dns:web"), None),
    ]
    lines = [shells.probe_line(i, t) for i, t in enumerate(tasks)]
    assert lines == ["p 0 198.18.0.3", "c 1 198.18.0.3 80", "d 2 web"]
    text = shells.script([x for x in lines if x], 0.3)
    assert text.startswith("\nT=1\n")  # busybox ping -W takes whole seconds
    assert text.endswith("p 0 198.18.0.3 &\nc 1 198.18.0.3 80 &\nd 2 web &\nwait\n")


def test_the_shell_never_sees_a_name_unquoted() -> None:
    # scenario validation already refuses such names; the script quotes anyway
    line = shells.probe_line(7, Task("a", "b", Probe(ProbeKind.DNS, name="a;b"), None))
    assert line == "d 7 'a;b'"


@pytest.mark.parametrize(
    ("kind", "rc", "text", "outcome", "timed_out"),
    [
        (
            "icmp",
            0,
            "PING 198.18.0.3: 56 data bytes 64 bytes from 198.18.0.3: seq=0 ttl=64 time=0.081 ms",
            "reachable",
            0,
        ),
        (
            "icmp",
            1,
            "PING 198.18.0.9 (198.18.0.9): 56 data bytes --- 0 packets received, 100% packet loss",
            "unreachable",
            1,
        ),
        ("icmp", 1, "ping: sendto: Network is unreachable", "unreachable", 0),
        ("tcp", 0, "", "reachable", 0),
        ("tcp", 1, "nc: can't connect to remote host (198.18.0.3): Connection refused", "unreachable", 0),
        ("tcp", 1, "nc: timed out", "unreachable", 1),
        (
            "dns",
            0,
            "Server: 127.0.0.11 Address: 127.0.0.11:53 Non-authoritative answer: Name: web Address: 198.18.0.2",
            "reachable",
            0,
        ),
        ("dns", 1, "Server: 127.0.0.11 Address: 127.0.0.11:53 ** server can't find x: NXDOMAIN", "unreachable", 0),
        ("dns", 143, "", "unreachable", 1),
    ],
)
def test_what_the_tools_print_becomes_an_answer(kind: str, rc: int, text: str, outcome: str, timed_out: int) -> None:
    a = shells.parse(kind, rc, text, 1.0)
    assert (a.outcome, a.timed_out) == (Outcome(outcome), bool(timed_out)), a
    if kind == "icmp" and rc == 0:
        assert a.rtt_ms == 0.081
    if kind == "dns" and rc == 0:
        assert "198.18.0.2" in a.detail and "127.0.0.11" not in a.detail  # the server's own address is not an answer


def test_node_options() -> None:
    assert parse_nodes(["host=ssh://me@server", "node2=tcp://198.18.5.1:2375"]) == {
        "host": "ssh://me@server",
        "node2": "tcp://198.18.5.1:2375",
    }
    for bad in (["host"], ["=unix:///x"], ["host=server"], ["host=unix:///a", "host=unix:///b"]):
        with pytest.raises(UsageError):
            parse_nodes(bad)
