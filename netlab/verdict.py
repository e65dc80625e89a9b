"""Expectations against observations: per stage, which held, which did not, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netlab.i18n import _
from netlab.model import conditions
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Expectation, Topology


@dataclass(frozen=True, slots=True)
class Check:
    expectation: Expectation
    observation: Observation | None
    #: a conditional expectation whose condition the run's facts cannot decide (e.g. a remote engine's
    #: FORWARD policy): not judged, reported as an error
    undecided: bool = False
    #: why an undecided expectation could not be judged ('' otherwise)
    reason: str = ""

    @property
    def condition(self) -> str:
        """The condition under which the expectation applied ('' for an unconditional one)."""
        return conditions.text(self.expectation.when)

    @property
    def expected(self) -> Outcome:
        return Outcome.REACHABLE if self.expectation.reachable else Outcome.UNREACHABLE

    @property
    def observed(self) -> Outcome:
        if self.undecided:
            return Outcome.ERROR
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
    #: conditional expectations about Docker Engine's own version where the run's engine is not Docker (the CNI
    #: plugins, Podman): they say what Docker does, not what this engine should do. Listed, judged nowhere
    docker_only: tuple[Expectation, ...] = ()

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

    def docker_only_in(self, name: str) -> tuple[Expectation, ...]:
        return tuple(e for e in self.docker_only if e.stage == name)

    def summary(self) -> str:
        s = _("{correct} correct, {wrong} wrong").format(correct=self.correct, wrong=self.wrong)
        return s + (_(", {errors} errors").format(errors=self.errors) if self.errors else "")


def find(observations: Sequence[Observation], e: Expectation) -> Observation | None:
    for o in observations:
        if (o.stage, o.src, o.dst, o.probe) != (e.stage, e.src, e.dst, e.probe):
            continue
        if e.address is None or o.address == e.address:
            return o
    return None


def compare(
    topology: Topology, observations: Sequence[Observation], environment: Mapping[str, Any] | None = None
) -> Verdict:
    """Every expectation that applies against its observation. A conditional one applies where the run's facts
    (`environment`: Result.environment) meet its condition, is left out where they do not, and is an error
    where they cannot tell; one about Docker Engine's version on a run whose engine is not Docker
    (`engine_kind`) is Docker's only, judged nowhere (Verdict.docker_only)."""
    env = environment or {}
    checks = []
    docker_only = []
    other_engine = env.get("engine_kind", "docker") != "docker"
    index: dict[tuple[str, str, str, str], list[Observation]] = {}
    for o in observations:
        index.setdefault((o.stage, o.src, o.dst, str(o.probe)), []).append(o)
    for stage in topology.stages:
        for e in stage.expectations:
            undecided, reason = False, ""
            if other_engine and any(k in conditions.DOCKER_ENGINE for k, _v in e.when):
                docker_only.append(e)  # what some Docker release does: nothing to judge this engine by
                continue
            if e.when:
                node = judged_on(topology, e)
                facts = conditions.facts_of(env, node)
                applies = conditions.holds(e.when, facts)
                if applies is False:
                    continue
                if applies is None:
                    undecided = True
                    unknown = ", ".join(k for k, _value in e.when if k not in facts)
                    where = f"node {node}" if node is not None else "this run"
                    reason = (
                        f"not judged: this run cannot tell whether {conditions.text(e.when)} holds here "
                        f"({unknown} of {where} unknown)"
                    )
            checks.append(Check(e, find(index.get((e.stage, e.src, e.dst, str(e.probe)), ()), e), undecided, reason))
    return Verdict(tuple(checks), tuple(docker_only))


def judged_on(topology: Topology, e: Expectation) -> str | None:
    """The node whose facts decide a conditional expectation: its source when that is a Docker host (a node
    endpoint), else the node of its destination container, else of its source container, else its
    destination when that is a node; None (the run's facts) for cells between peers."""
    nodes = _node_names(topology)
    if e.src in nodes:
        return e.src
    of = {c.name: c.node for c in topology.containers}
    return of.get(e.dst) or of.get(e.src) or (e.dst if e.dst in nodes else None)


def _node_names(topology: Topology) -> set[str]:
    return {n.name for n in topology.nodes}
