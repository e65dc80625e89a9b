"""Schema 1 of the JSON result (DESIGN.md). Extend, never rename."""

from __future__ import annotations

import json
from typing import Any

from netlab.report.shape import Result

SCHEMA = 1


def result_to_json(r: Result) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "scenario": r.topology.name,
        "title": r.topology.title,
        "backend": r.backend,
        "run": r.run,
        "ok": r.ok,
        "summary": {"correct": r.verdict.correct, "wrong": r.verdict.wrong, "errors": r.verdict.errors},
        "environment": {k: v for k, v in r.environment.items() if k != "backend"},
        "endpoints": {
            name: {
                "kind": str(ep.kind),
                "node": ep.node,
                "addresses": {a.network: str(a.address) for a in ep.addresses},
            }
            for name, ep in r.endpoints.items()
        },
        "observations": [
            {
                "stage": o.stage,
                "src": o.src,
                "dst": o.dst,
                "address": str(o.address) if o.address is not None else None,
                "probe": str(o.probe),
                "outcome": str(o.outcome),
                "rtt_ms": o.rtt_ms,
                "detail": o.detail,
                **({"why": o.why} if o.why else {}),
            }
            for o in r.observations
        ],
        "expectations": [
            {
                "stage": c.expectation.stage,
                "src": c.expectation.src,
                "dst": c.expectation.dst,
                "probe": str(c.expectation.probe),
                "expected": str(c.expected),
                "observed": str(c.observed),
                "ok": c.ok,
                "claim": c.expectation.claim,
                **({"when": dict(c.expectation.when)} if c.expectation.when else {}),
                **({"undecided": c.reason or f"not judged: {c.condition}"} if c.undecided else {}),
            }
            for c in r.verdict.checks
        ],
        "evidence": {"firewall": {}, "container_firewall": {}, "routes": {}, "captures": [], **r.evidence},
        "claims": r.claims,
        "timings": r.timings,
        "warnings": list(r.topology.warnings),
        "host_changes": list(r.host_changes),
    }


def dump(r: Result, path: str) -> None:
    with open(path, "w") as f:
        json.dump(result_to_json(r), f, indent=2)
        f.write("\n")
