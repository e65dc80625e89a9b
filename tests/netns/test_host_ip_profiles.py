"""A port published on one host address (`-p 127.0.0.1:8080:80`, loopback_publish() in tests/shared_scenarios.py) on
every engine profile: the DNAT names that address, and Docker 28 and 29 also drop remote traffic to the
loopback-published port in the raw table, as moby documents (usernet-portmap-lo, nftabler bindlh=true); the cells are
the same everywhere and as Docker's rules predict."""

from __future__ import annotations

import json

import pytest
from hostsnap import HostSnapshot
from shared_scenarios import loopback_publish

from netlab import runner
from netlab.options import RunOptions


@pytest.mark.parametrize("engine", ["20.10", "28", "29", "29-nftables"])
def test_a_loopback_published_port_is_closed_to_everyone_else_on_every_profile(
    engine: str, host_unchanged: HostSnapshot
) -> None:
    result = runner.run(loopback_publish(), RunOptions(backend="netns", engine=engine))
    assert result.ok, result.verdict.summary()
    result.check_predicted()
    rules = json.dumps(result.evidence["firewall"]["initial"]["host"])
    if engine == "29-nftables":
        assert "ip daddr 127.0.0.1 tcp dport 8080 counter" in rules and "DROP REMOTE LOOPBACK" in rules
    else:
        assert "-A DOCKER -d 127.0.0.1/32 ! -i " in rules and "--dport 8080 -j DNAT" in rules
    if engine in ("28", "29"):
        assert "-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP" in rules
