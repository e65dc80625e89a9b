"""Expectations against observations: per stage, which held, which did not, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netlab.model.results import Observation, Outcome
from netlab.model.topology import Expectation, Topology


@dataclass(frozen=True, slots=True)
class Check:
    expectation: Expectation
    observation: Observation | None

    @property
    def expected(self) -> Outcome:
        return Outcome.REACHABLE if self.expectation.reachable else Outcome.UNREACHABLE

    @property
    def observed(self) -> Outcome:
        return self.observation.outcome if self.observation is not None else Outcome.ERROR

    @property
    def ok(self) -> bool:
        return self.observed == self.expected

    @property
    def error(self) -> bool:
        return self.observed is Outcome.ERROR


@dataclass(frozen=True, slots=True)
class Verdict:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def correct(self) -> int:
        return sum(c.ok for c in self.checks)

    @property
    def wrong(self) -> int:
        return sum(not c.ok and not c.error for c in self.checks)

    @property
    def errors(self) -> int:
        return sum(c.error for c in self.checks)

    def stage(self, name: str) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.expectation.stage == name)

    def summary(self) -> str:
        s = f"{self.correct} correct, {self.wrong} wrong"
        return s + (f", {self.errors} errors" if self.errors else "")


def find(observations: Sequence[Observation], e: Expectation) -> Observation | None:
    for o in observations:
        if (o.stage, o.src, o.dst, o.probe) != (e.stage, e.src, e.dst, e.probe):
            continue
        if e.address is None or o.address == e.address:
            return o
    return None


def compare(topology: Topology, observations: Sequence[Observation]) -> Verdict:
    checks = [Check(e, find(observations, e)) for stage in topology.stages for e in stage.expectations]
    return Verdict(tuple(checks))
