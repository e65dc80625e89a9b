"""Expectations that hold only on some hosts (netlab/model/conditions.py): an outcome per FORWARD policy,
judged on the facts the run found, with the condition that applied reported."""

from __future__ import annotations

import pytest

from netlab import Scenario
from netlab.backends.base import Deployment
from netlab.backends.fake import FakeBackend
from netlab.model import InvalidScenario, conditions
from netlab.model.probing import Answer, Decided, Probing, Task
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Topology
from netlab.report import console
from netlab.report import json as json_report
from netlab.runner import run_topology
from netlab.verdict import compare


def routed(policy_cells: bool = True) -> Topology:
    s = Scenario("routed")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    web = s.container("web", s.network("front"))
    if policy_cells:
        s.expect(ext, web, reachable=False, when={"forward_policy": "DROP"})
        s.expect(ext, web, reachable=True, when={"forward_policy": "accept"})  # any case, spelt as the facts
    s.expect(web, ext, reachable=True)
    return s.build()


def _obs(t: Topology, outcome: Outcome) -> list[Observation]:
    e = t.stages[0].expectations[0]
    return [
        Observation("initial", "ext", "web", None, e.probe, outcome),
        Observation("initial", "web", "ext", None, e.probe, Outcome.REACHABLE),
    ]


def test_the_outcome_for_the_hosts_policy_is_the_one_judged() -> None:
    t = routed()
    drop = {"nodes": {"host": {"forward_policy": "DROP"}}}
    accept = {"nodes": {"host": {"forward_policy": "ACCEPT"}}}
    v = compare(t, _obs(t, Outcome.UNREACHABLE), drop)
    assert v.ok and [c.condition for c in v.checks] == ["forward_policy=DROP", ""]
    v = compare(t, _obs(t, Outcome.UNREACHABLE), accept)
    assert not v.ok and v.wrong == 1 and v.checks[0].condition == "forward_policy=ACCEPT"
    assert compare(t, _obs(t, Outcome.REACHABLE), accept).ok


def test_unconditional_expectations_stay_strict_on_every_host() -> None:
    s = Scenario("strict")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    web = s.container("web", s.network("front"))
    s.expect(ext, web, reachable=False)
    t = s.build()
    obs = [Observation("initial", "ext", "web", None, t.stages[0].expectations[0].probe, Outcome.REACHABLE)]
    assert compare(t, obs, {"nodes": {"host": {"forward_policy": "ACCEPT"}}}).wrong == 1


def test_a_condition_the_run_cannot_decide_is_an_error_not_a_pass() -> None:
    t = routed()
    v = compare(t, _obs(t, Outcome.UNREACHABLE), {})
    assert v.errors == 2 and not v.ok
    assert all(c.undecided for c in v.checks if c.condition)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"forward": "DROP"}, "unknown condition 'forward'"),
        ({"forward_policy": "REJECT"}, "use one of ACCEPT, DROP"),
        ("DROP", "when= takes a dict"),
    ],
)
def test_a_bad_condition_is_refused_when_the_scenario_is_built(when: object, message: str) -> None:
    s = Scenario("bad")
    s.container("web")
    s.expect("web", "host", when=when)  # type: ignore[arg-type]
    with pytest.raises(InvalidScenario, match=message):
        s.build()


def test_facts_of_a_node_come_before_the_runs_own() -> None:
    env = {"forward_policy": "DROP", "nodes": {"n1": {"forward_policy": "ACCEPT (no filter table)"}}}
    assert conditions.facts_of(env, "n1")["forward_policy"] == "ACCEPT"
    assert conditions.facts_of({"forward_policy": "DROP"}, None) == {"forward_policy": "DROP"}


class _Accepting(FakeBackend):
    """A host whose FORWARD policy is ACCEPT: the routed peer reaches the container."""

    def deploy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        dep = super().deploy(*args, **kwargs)
        dep.facts["forward_policy"] = "ACCEPT"
        return dep

    def probing(self, dep: Deployment) -> Probing:
        return Decided(lambda task: Answer(Outcome.REACHABLE, 0.1, "fake"))


def test_a_run_says_which_condition_applied_in_console_and_json() -> None:
    result = run_topology(routed(), backend=_Accepting())
    assert result.ok, result.verdict.summary()
    text = console.render(result)
    assert "on this host (forward_policy=ACCEPT): ext -> web icmp" in text
    cells = json_report.result_to_json(result)["expectations"]
    assert [c.get("when") for c in cells] == [{"forward_policy": "ACCEPT"}, None]


def test_the_fake_backend_is_a_fresh_docker_host() -> None:
    def answer(task: Task) -> Answer:
        return Answer(Outcome.UNREACHABLE if task.src == "ext" else Outcome.REACHABLE, 0.1, "fake")

    class Fresh(FakeBackend):
        def probing(self, dep: Deployment) -> Probing:
            return Decided(answer)

    result = run_topology(routed(), backend=Fresh())
    assert result.ok and result.environment["forward_policy"] == "DROP"


# -- engine versions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "version", "holds"),
    [
        ("<28", "20.10.24", True),
        ("<28", "28.5.2", False),
        (">=28", "28.0.0", True),
        (">=28", "27.5.1", False),
        ("28", "28.5.2", True),
        ("28", "29.7.2", False),
        ("20.10", "20.10.24", True),
        ("<=20.10", "20.10.24", True),
        (">29", "29.7.2", False),
    ],
)
def test_engine_conditions_compare_releases(wanted: str, version: str, holds: bool):
    when = conditions.parse({"engine": wanted}, "cell")
    assert conditions.holds(when, {"engine": version}) is holds


def test_engine_condition_reads_the_runs_engine_version_and_is_undecided_without_one():
    when = conditions.parse({"engine": ">=28", "forward_policy": "DROP"}, "cell")
    facts = conditions.facts_of({"engine_version": "28.5.2", "nodes": {"host": {"forward_policy": "DROP"}}}, "host")
    assert conditions.holds(when, facts) is True
    assert conditions.holds(when, {"forward_policy": "DROP"}) is None  # a remote engine of unknown version


@pytest.mark.parametrize("bad", ["newest", "28.x", ">= twenty", "=<28"])
def test_an_engine_condition_that_is_no_release_is_refused(bad: str):
    with pytest.raises(ValueError, match="release such as"):
        conditions.parse({"engine": bad}, "cell")


def test_conditions_read_as_comparisons():
    assert conditions.text(conditions.parse({"engine": "<28", "forward_policy": "drop"}, "c")) == (
        "engine<28, forward_policy=DROP"
    )


def test_docker_version_expectations_are_docker_only_where_the_engine_is_not_docker():
    """On the CNI plugins or Podman (engine_kind), an outcome stated per Docker release says nothing about the
    engine measured: listed as Docker's only, neither correct nor wrong nor an error; on a Docker run of unknown
    version the same expectation stays undecided."""
    s = Scenario("versions")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    web = s.container("web", s.network("front"))
    s.expect(ext, web, reachable=False, when={"engine": "<28", "forward_policy": "DROP"})
    s.expect(ext, web, reachable=False, when={"engine": ">=28"})
    s.expect(web, ext, reachable=True)
    t = s.build()
    obs = _obs(t, Outcome.REACHABLE)
    env = {"engine_kind": "cni", "nodes": {"host": {"forward_policy": "ACCEPT"}}}
    v = compare(t, obs, env)
    assert v.ok and (v.correct, v.wrong, v.errors) == (1, 0, 0)
    assert [(e.src, e.dst, conditions.text(e.when)) for e in v.docker_only] == [
        ("ext", "web", "engine<28, forward_policy=DROP"),
        ("ext", "web", "engine>=28"),
    ]
    lines = console.docker_only_lines(v.docker_only_in("initial"), env)
    assert lines[0].strip().startswith("Docker's only, not judged on CNI (where engine<28, forward_policy=DROP): ext")
    docker = compare(t, obs, {"nodes": {"host": {"forward_policy": "ACCEPT"}}})
    assert docker.errors == 2 and not docker.docker_only  # a Docker of unknown version: both undecided
