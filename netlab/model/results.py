"""What measuring produces: observations with an outcome that is data, never a bare bool."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from netlab.model.topology import IPAddress, Probe


class Outcome(StrEnum):
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"
    ERROR = "error"

    @property
    def symbol(self) -> str:
        return {"reachable": ".", "unreachable": "X", "error": "!"}[self.value]


@dataclass(frozen=True, slots=True)
class Observation:
    stage: str
    src: str
    dst: str
    address: IPAddress | None
    probe: Probe
    outcome: Outcome
    rtt_ms: float | None = None
    detail: str = ""
    #: `--why`: the rule or kernel decision that ended an unreachable probe (netlab/evidence/why.py)
    why: str = ""
