"""Honest retries (netlab/probes/matrix.py retry_window): a cell is called unreachable only after its probe was
given the neighbour-resolution time. The lan peer here loses its first ARP answer (an nftables quota in its own
namespace drops the first reply), so the host's first packets wait for the kernel to ask again one second
later; with a 0.5 s timeout the cells must still come out reachable."""

from __future__ import annotations

import re

import pytest
from hostsnap import HostSnapshot

from netlab import Scenario, nsthread
from netlab.backends.base import NO_HOOKS, Deployment, Hooks
from netlab.backends.journal import Journal
from netlab.backends.netns.backend import NetnsBackend
from netlab.model.results import Outcome
from netlab.model.topology import Topology
from netlab.options import RunOptions
from netlab.probes import matrix
from netlab.runner import run

#: the peer's first ARP reply is dropped (an ARP frame is 42 bytes at this hook: the quota lets the second pass)
LOSE_FIRST_ARP_REPLY = """table arp lossy {
\tchain out {
\t\ttype filter hook output priority 0; policy accept;
\t\tarp operation reply quota until 60 bytes drop
\t}
}
"""


class LostFirstArpReply(NetnsBackend):
    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        dep = super().deploy(topology, run, journal, hooks)
        ext = dep.endpoints["ext"].netns
        assert ext is not None
        nsthread.run(ext, ["nft", "-f", "-"], stdin=LOSE_FIRST_ARP_REPLY)
        return dep

    def destroy(self, dep: Deployment) -> None:
        ext = dep.endpoints["ext"].netns
        assert ext is not None
        self.quota = nsthread.run(ext, ["nft", "list", "table", "arp", "lossy"])
        super().destroy(dep)


def lan_peer() -> Scenario:
    s = Scenario("arp")
    ext = s.peer("ext", s.lan("lan0"))
    c = s.container("c", s.network("n"))
    s.expect(c, ext, "icmp", reachable=True)
    s.expect("host", ext, "icmp", reachable=True)
    return s


def test_a_first_packet_that_waited_for_a_second_arp_request_is_still_answered(host_unchanged: HostSnapshot):
    backend = LostFirstArpReply(engine="20.10")
    r = run(lan_peer(), RunOptions(backend=backend, timeout=0.5))
    cells = {(o.src, o.dst): o for o in r.observations if o.dst == "ext"}
    assert all(o.outcome is Outcome.REACHABLE for o in cells.values()), {k: o.detail for k, o in cells.items()}
    # the fault happened: an ARP reply (42 bytes) was dropped. (Not asserted on the round trip: the retry's packet
    # may leave before or after the kernel's re-sent request is answered, so its rtt says nothing certain.)
    used = re.search(r"used (\d+) bytes", backend.quota)
    assert used and int(used.group(1)) >= 42, backend.quota
    assert r.ok


def test_without_the_neighbour_time_the_same_cells_would_be_called_unreachable(
    monkeypatch: pytest.MonkeyPatch, host_unchanged: HostSnapshot
):
    """The fault above is real: with the retry cut to its old 30 ms the cells come out unreachable."""
    monkeypatch.setattr(matrix, "NEIGHBOUR_RESOLUTION_S", 0.0)
    monkeypatch.setattr(matrix, "NEIGHBOUR_MARGIN_S", 0.0)
    r = run(lan_peer(), RunOptions(backend=LostFirstArpReply(engine="20.10"), timeout=0.5))
    lost = [o for o in r.observations if o.dst == "ext" and o.outcome is Outcome.UNREACHABLE]
    assert lost and "retry" in lost[0].detail
