"""Schema 1 of the JSON result (DESIGN.md). Extend, never rename."""

from __future__ import annotations

import json
from typing import Any

from netlab.predict import Prediction
from netlab.report.shape import Result
from netlab.verdict import Check

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
                **(
                    {"addresses6": {a.network: str(a.address6) for a in ep.addresses if a.address6}}
                    if any(a.address6 for a in ep.addresses)
                    else {}
                ),
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
        # Docker-version expectations on a run whose engine is not Docker: listed, judged nowhere
        **(
            {
                "docker_only": [
                    {
                        "stage": e.stage,
                        "src": e.src,
                        "dst": e.dst,
                        "probe": str(e.probe),
                        "expected": "reachable" if e.reachable else "unreachable",
                        "when": dict(e.when),
                    }
                    for e in r.verdict.docker_only
                ]
            }
            if r.verdict.docker_only
            else {}
        ),
        "evidence": {"firewall": {}, "container_firewall": {}, "routes": {}, "captures": [], **r.evidence},
        "claims": r.claims,
        "timings": r.timings,
        "warnings": list(r.topology.warnings),
        "host_changes": list(r.host_changes),
        "prediction": prediction_to_json(r.predicted()),
    }


def prediction_to_json(p: Prediction) -> dict[str, Any]:
    """Docker's rules' prediction: the counts, then only the cells measured otherwise and those not predicted
    (a matrix of 250 containers would otherwise be written twice)."""
    v = p.verdict

    def cell(c: Check) -> dict[str, Any]:
        e, o = c.expectation, c.observation
        return {
            "stage": e.stage,
            "src": e.src,
            "dst": e.dst,
            "address": str(e.address) if e.address is not None else None,
            "probe": str(e.probe),
            "predicted": str(c.expected),
            "observed": str(c.observed),
            "rule": p.why(e.stage, e.src, e.dst, str(e.probe), e.address),
            **({"when": dict(e.when)} if e.when else {}),
            "evidence": p.evidence(c),
            **({"detail": o.detail} if o is not None and o.detail else {}),
            **({"why": o.why} if o is not None and o.why else {}),
        }

    return {
        "engine": p.engine,
        "ok": p.ok,
        "summary": {"as_predicted": v.correct, "not": v.wrong, "errors": v.errors, "not_predicted": len(p.unpredicted)},
        "differences": [cell(c) for c in v.checks if not c.ok],
        "not_predicted": [
            {
                "stage": c.stage,
                "src": c.src,
                "dst": c.dst,
                "address": str(c.address) if c.address is not None else None,
                "probe": str(c.probe),
                "reason": c.reason,
            }
            for c in p.unpredicted
        ],
    }


def dump(r: Result, path: str) -> None:
    with open(path, "w") as f:
        json.dump(result_to_json(r), f, indent=2)
        f.write("\n")
