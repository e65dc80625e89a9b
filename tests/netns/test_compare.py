"""`netlab compare` on the netns backend: the measured table and the lecture's cards."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hostsnap import HostSnapshot

from netlab import compare
from netlab.model.claims import CLAIMS, verdict


def test_compare_reproduces_the_expected_table(host_unchanged: HostSnapshot) -> None:
    results = compare.run(["bridge", "host", "macvlan", "overlay"])
    cells = compare.table(results)
    marks = {prop: {d: c.mark for d, c in row.items()} for prop, row in cells.items()}
    assert marks["iptables"] == {"bridge": "✓", "host": "✗", "macvlan": "✗", "overlay": "✓"}
    assert marks["nat"] == {"bridge": "✓", "host": "✗", "macvlan": "✗", "overlay": "✓"}
    assert marks["own-mac"] == {"bridge": "✗", "host": "✗", "macvlan": "✓", "overlay": "✗"}
    assert marks["host-to-container"] == {"bridge": "✓", "host": "✓", "macvlan": "✗", "overlay": "✓"}
    assert marks["peer-to-container"] == {"bridge": "✗", "host": "✓", "macvlan": "✓", "overlay": "✗"}
    assert marks["broadcast-domain"] == {"bridge": "✗", "host": "✓", "macvlan": "✓", "overlay": "✗"}
    assert marks["spans-hosts"] == {"bridge": "–", "host": "–", "macvlan": "–", "overlay": "✓"}
    for claim in CLAIMS:
        if claim.driver in results and claim.scenario is None:  # the others: by their own scenario
            held = verdict(claim, compare.measured(cells, claim.driver))
            assert held is (None if not claim.expects else True), (claim.id, held)


def test_compare_cli_writes_the_markdown_and_finds_the_outdated_ipvlan_card(tmp_path: Path) -> None:
    out = tmp_path / "cnm.md"
    proc = subprocess.run(
        ["netlab", "compare", "ipvlan", "macvlan", "--markdown", str(out)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("# Docker's network drivers compared (CNM)")
    assert "| ipvlan | IPTables use but experimental-ish. | iptables ✗ | **wrong or outdated**" in text
    assert "| macvlan | No IPTables. | iptables ✗ | right (in the host's namespace; inside each container" in text
    # the trunk rows come from scenario macvlan_vlan (a router stage included)
    assert "| VLANs share one wire (a trunk), each tagged with its own 802.1Q id | – | ✓ |" in text
    assert "| containers on different VLANs of one trunk reach each other only through a router | – | ✓ |" in text
    assert "- vlan-routed / macvlan: ✓ across VLANs: 0/4 reachable without a router, 4/4 in stage routed" in text


def test_the_ipv6_rows_of_bridge_come_from_bridge_ipv6(host_unchanged: HostSnapshot) -> None:
    results = compare.run(["bridge", "host"])
    more = compare.run_more(["bridge", "host"])
    assert set(more) == {"bridge_ipv6"}
    cells = compare.table(results, more)
    marks = {prop: {d: c.mark for d, c in cells[prop].items()} for prop in compare.IPV6_ROWS}
    # the engine netlab chose (the running daemon's version, else the newest): Docker 20.10 writes no IPv6 rule
    # (bridges open to each other, no NAT66, the peer cannot answer); from 27 IPv6 is closed and masqueraded as IPv4
    old = int(str(more["bridge_ipv6"].environment["engine_version"]).split(".")[0]) < 27  # type: ignore[union-attr]
    yes, no = ("✓", "✗") if not old else ("✗", "✓")
    assert marks == {
        "ipv6-same-network": {"bridge": "✓", "host": "–"},
        "ipv6-cross-network": {"bridge": no, "host": "–"},
        "ipv6-container-to-lan": {"bridge": yes, "host": "–"},
        "nat66": {"bridge": yes, "host": "–"},
    }
    assert "fd6e:6574:6c00:" in cells["nat66"]["bridge"].evidence
    text = compare.render(cells, results, "netns", more)
    assert "scenario `bridge_ipv6` on Docker " in text
