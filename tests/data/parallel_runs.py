"""Several `netlab run` processes at once: each gets its own run id and its own subnets (address leases,
netlab/lease.py), all pass, and nothing is left behind. Shared by the netns and docker tiers."""

from __future__ import annotations

import json
import subprocess
from ipaddress import IPv4Network
from pathlib import Path


def run_at_once(tmp_path: Path, scenario: str, backend: str, n: int = 4) -> list[dict]:
    procs = []
    for i in range(n):
        out = tmp_path / f"run{i}.json"
        argv = ["netlab", "run", scenario, "--backend", backend, "--json", str(out), "--no-color"]
        procs.append((subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), out))
    finished = [(proc, *proc.communicate(timeout=300), out) for proc, out in procs]  # all of them, then judge
    for proc, stdout, stderr, _ in finished:
        assert proc.returncode == 0, (stdout[-2000:], stderr[-2000:])
    return [json.loads(out.read_text()) for *_, out in finished]


def subnets(result: dict) -> set[IPv4Network]:
    """The /24s the run's addresses sit in (the default bridge's aside: the daemon's own on docker)."""
    found = set()
    for ep in result["endpoints"].values():
        for net, addr in ep["addresses"].items():
            if net != "bridge":
                found.add(IPv4Network(f"{addr}/24", strict=False))
    return found


def assert_distinct(results: list[dict]) -> None:
    runs = [r["run"] for r in results]
    assert len(set(runs)) == len(runs), runs
    for i, a in enumerate(results):
        for b in results[i + 1 :]:
            assert not subnets(a) & subnets(b), (a["run"], b["run"], sorted(subnets(a) & subnets(b)))
