"""The firewall evidence of `netlab scan` (evidence/firewall.py: read_only): of the machine's rules, only those that
name a scanned network's bridge or subnet or a scanned container's address, by table and chain; nothing diffed."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from netlab.backends.base import Deployment
from netlab.backends.journal import Journal
from netlab.evidence import firewall
from netlab.model.deployed import Address, Endpoint
from netlab.model.topology import INITIAL, Attachment, Container, Driver, EndpointKind, Network, Node, Stage, Topology

SAVED = """*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.30.0.0/24 ! -o br-aaaaaaaaaaaa -j MASQUERADE
-A POSTROUTING -s 10.9.0.0/16 -o eth0 -j MASQUERADE
-A DOCKER ! -i br-aaaaaaaaaaaa -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.30.0.2:80
COMMIT
*filter
-A FORWARD -o br-aaaaaaaaaaaa -j DOCKER
-A FORWARD -i wg0 -j ACCEPT
-A DOCKER -d 172.30.0.2/32 ! -i br-aaaaaaaaaaaa -o br-aaaaaaaaaaaa -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
"""


def test_only_the_rules_naming_what_was_scanned_are_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    net = Network(
        "front", Driver.BRIDGE, IPv4Network("172.30.0.0/24"), IPv4Address("172.30.0.1"), bridge_name="br-aaaaaaaaaaaa"
    )
    web = Container("web", "host", (Attachment("front", IPv4Address("172.30.0.2")),))
    t = Topology("p", "", "", (Node("host"),), (), (), (), (net,), (web,), (Stage(INITIAL, "", (), ()),))
    dep = Deployment(run="r", backend="scan", topology=t, journal=Journal("r", "/dev/null"))
    dep.endpoints = {
        "host": Endpoint("host", EndpointKind.HOST, "host", "/proc/1/ns/net", []),
        "web": Endpoint(
            "web", EndpointKind.CONTAINER, "host", None, [Address("front", "host/front", web.attachments[0].address)]
        ),
    }
    dep.firewall_read_only["host"] = "/proc/1/ns/net"
    monkeypatch.setattr(firewall, "save", lambda netns, flavour=None: SAVED)
    found = firewall.read_only(dep)["host"]
    assert found["read_only"] is True
    assert found["rules"] == {
        "nat": {
            "POSTROUTING": ["-A POSTROUTING -s 172.30.0.0/24 ! -o br-aaaaaaaaaaaa -j MASQUERADE"],
            "DOCKER": [
                "-A DOCKER ! -i br-aaaaaaaaaaaa -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.30.0.2:80"
            ],
        },
        "filter": {
            "FORWARD": ["-A FORWARD -o br-aaaaaaaaaaaa -j DOCKER"],
            "DOCKER": [
                "-A DOCKER -d 172.30.0.2/32 ! -i br-aaaaaaaaaaaa -o br-aaaaaaaaaaaa -p tcp -m tcp --dport 80 -j ACCEPT"
            ],
        },
    }
