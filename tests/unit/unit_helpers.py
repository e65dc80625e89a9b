"""Small builders shared by the unit tests (plain functions, no fixtures)."""

from __future__ import annotations

import json
from importlib import resources
from ipaddress import IPv4Address
from typing import Any

from netlab.model.expectations import parse_probe
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Probe


def obs(
    src: str,
    dst: str,
    outcome: Outcome | str,
    probe: str = "icmp",
    address: str | None = "198.18.9.9",
    stage: str = "initial",
    detail: str = "",
) -> Observation:
    """A hand-made observation."""
    p: Probe = parse_probe(probe)
    return Observation(stage, src, dst, IPv4Address(address) if address else None, p, Outcome(outcome), 0.05, detail)


def schema1() -> dict[str, Any]:
    """netlab/report/schema1.json, read the way an installed package would read it."""
    text = resources.files("netlab.report").joinpath("schema1.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data
