"""The runner with the fake backend: every stage measured, destroy always called, results well formed."""

from __future__ import annotations

import os
import re
import time
from ipaddress import IPv4Address
from pathlib import Path

import jsonschema
import pytest
from unit_helpers import schema1

from netlab import Scenario
from netlab.backends.base import NO_HOOKS, Deployment, Endpoint, Hooks
from netlab.backends.fake import FakeBackend
from netlab.backends.journal import Journal
from netlab.errors import DeployError, EnvironmentProblem
from netlab.model.probing import Answer, Decided, Probing, Task
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Probe, Topology
from netlab.runner import run_topology


def staged() -> Topology:
    """c1 on a, c2 on b; stage `join` connects c1 to b, stage `leave` disconnects it again."""
    s = Scenario("staged", title="connect and disconnect")
    lan = s.lan("lan0")
    s.peer("ext", lan)
    a = s.network("a")
    b = s.network("b")
    c1 = s.container("c1", a)
    c2 = s.container("c2", b)
    s.expect(c1, c2, reachable=False)
    with s.stage("join", "c1 joins b") as st:
        st.connect(c1, b)
        st.expect(c1, c2, reachable=True)
        st.expect(c2, c1, "tcp:80", reachable=True)
    with s.stage("leave", "c1 leaves b") as st:
        st.disconnect(c1, b)
        st.expect(c1, c2, reachable=False)
    return s.build()


class MeasureFails(FakeBackend):
    """Measuring stage `fail_at` raises, as a probe engine crash would."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at

    def probing(self, dep: Deployment) -> Probing:
        if dep.stage_index == self.fail_at:
            raise RuntimeError(f"probe engine crashed in {dep.topology.stages[dep.stage_index].name}")
        return super().probing(dep)


class ApplyFails(FakeBackend):
    def apply(self, dep: Deployment, stage_index: int) -> None:
        super().apply(dep, stage_index)
        raise DeployError(f"stage {stage_index}: connect failed half-way")


class DeployFails(FakeBackend):
    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        self.deployed.append(run)
        raise DeployError("bridge: could not create it")

    def destroy(self, dep: Deployment) -> None:
        assert dep.run == self.deployed[-1]
        super().destroy(dep)


class CheckFails(FakeBackend):
    def check(self, topology: Topology | None) -> None:
        raise EnvironmentProblem("fake: not available here")


def test_every_stage_is_measured_and_later_stages_are_applied_in_order():
    be = FakeBackend()
    result = run_topology(staged(), backend=be)
    assert be.applied == [1, 2]
    assert [o.stage for o in result.observations if str(o.probe) == "icmp" and (o.src, o.dst) == ("c1", "c2")] == [
        "initial",
        "join",
        "leave",
    ]


def test_fake_run_of_a_staged_scenario_meets_its_expectations():
    result = run_topology(staged(), backend=FakeBackend())
    assert result.verdict.summary() == "4 correct, 0 wrong"
    assert result.ok


def test_destroy_is_called_once_for_the_run_that_was_deployed():
    be = FakeBackend()
    result = run_topology(staged(), backend=be)
    assert be.deployed == [result.run]
    assert be.destroyed == [result.run]
    assert result.backend == "fake"


@pytest.mark.parametrize("fail_at", [0, 1, 2])
def test_destroy_is_called_when_measuring_a_stage_raises(fail_at: int):
    be = MeasureFails(fail_at)
    with pytest.raises(RuntimeError, match="probe engine crashed"):
        run_topology(staged(), backend=be)
    assert len(be.deployed) == 1
    assert be.destroyed == be.deployed
    assert be.applied == list(range(1, fail_at + 1))


def test_destroy_is_called_when_applying_a_stage_raises():
    be = ApplyFails()
    with pytest.raises(DeployError, match="stage 1"):
        run_topology(staged(), backend=be)
    assert be.destroyed == be.deployed and len(be.destroyed) == 1


def test_destroy_is_called_when_deploy_raises_half_way():
    be = DeployFails()
    with pytest.raises(DeployError):
        run_topology(staged(), backend=be)
    assert be.destroyed == be.deployed and len(be.destroyed) == 1


def test_failed_environment_check_deploys_nothing(journal_dir: Path):
    be = CheckFails()
    with pytest.raises(EnvironmentProblem):
        run_topology(staged(), backend=be)
    assert be.deployed == [] and be.destroyed == []
    assert not list(journal_dir.glob("*.journal"))


def test_journal_is_written_during_the_run_and_removed_after_it(journal_dir: Path):
    seen: list[list[str]] = []

    def on_stage(dep: Deployment, index: int, observations: list[Observation]) -> None:
        seen.append(sorted(os.listdir(journal_dir)))

    result = run_topology(staged(), backend=FakeBackend(), on_stage=on_stage)
    assert seen == [[f"{result.run}.journal"]] * 3
    assert not list(journal_dir.glob("*.journal"))


def test_journal_is_removed_when_a_stage_raises(journal_dir: Path):
    with pytest.raises(RuntimeError):
        run_topology(staged(), backend=MeasureFails(1))
    assert not list(journal_dir.glob("*.journal"))


def test_run_id_of_an_existing_journal_is_never_reused(journal_dir: Path, monkeypatch: pytest.MonkeyPatch):
    (journal_dir / "aaaa.journal").write_text('{"run": "aaaa", "pid": 1, "start": "0"}\n')
    ids = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr("netlab.backends.naming.new_run_id", lambda: next(ids))
    result = run_topology(staged(), backend=FakeBackend())
    assert result.run == "bbbb"
    assert (journal_dir / "aaaa.journal").exists()


def test_run_id_is_four_hex_digits():
    be = FakeBackend()
    runs = [run_topology(staged(), backend=be).run for _ in range(8)]
    assert all(re.fullmatch(r"[0-9a-f]{4}", r) for r in runs), runs
    assert be.deployed == runs == be.destroyed  # the id the backend deployed and destroyed under
    assert len(set(runs)) > 1  # random, not a constant (8 equal draws: 1 in 2**84)


def test_icmp_is_observed_for_every_ordered_pair_of_endpoints_in_every_stage():
    t = staged()
    result = run_topology(t, backend=FakeBackend())
    names = t.endpoint_names()
    for stage in ("initial", "join", "leave"):
        pairs = {(o.src, o.dst) for o in result.observations if o.stage == stage and str(o.probe) == "icmp"}
        assert pairs == {(s, d) for s in names for d in names if s != d}


def test_probes_named_in_expectations_are_observed_in_their_stage_only():
    result = run_topology(staged(), backend=FakeBackend())
    tcp = [(o.stage, o.src, o.dst) for o in result.observations if str(o.probe) == "tcp:80"]
    assert tcp == [("join", "c2", "c1")]


def test_destination_address_is_the_one_on_a_shared_network_when_there_is_one():
    t = staged()
    result = run_topology(t, backend=FakeBackend())
    on_b = {a.network: a.address for a in t.containers_at(1)[0].attachments}["b"]
    on_a = t.container("c1").attachments[0].address
    (joined,) = [
        o for o in result.observations if (o.stage, o.src, o.dst, str(o.probe)) == ("join", "c2", "c1", "icmp")
    ]
    (apart,) = [
        o for o in result.observations if (o.stage, o.src, o.dst, str(o.probe)) == ("initial", "c2", "c1", "icmp")
    ]
    assert joined.address == on_b
    assert apart.address == on_a  # no shared network: the primary address


def test_endpoints_collect_addresses_from_every_stage():
    t = staged()
    result = run_topology(t, backend=FakeBackend())
    assert [a.network for a in result.endpoints["c1"].addresses] == ["a", "b"]
    assert list(result.endpoints) == list(t.endpoint_names())


def test_stage_hook_sees_each_stage_with_its_observations():
    calls: list[tuple[int, set[str]]] = []

    def hook(dep: Deployment, index: int, observations: list[Observation]) -> None:
        calls.append((index, {o.stage for o in observations}))

    run_topology(staged(), backend=FakeBackend(), on_stage=hook)
    assert calls == [(0, {"initial"}), (1, {"join"}), (2, {"leave"})]


class _Slow(FakeBackend):
    """Spends a known time in each phase."""

    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        time.sleep(0.05)
        return super().deploy(topology, run, journal, hooks)

    def apply(self, dep: Deployment, stage_index: int) -> None:
        time.sleep(0.03)
        super().apply(dep, stage_index)

    def probing(self, dep: Deployment) -> Probing:
        time.sleep(0.04)
        return super().probing(dep)

    def destroy(self, dep: Deployment) -> None:
        time.sleep(0.06)
        super().destroy(dep)


def test_timings_are_recorded_for_every_phase():
    result = run_topology(staged(), backend=_Slow())
    tm = result.timings
    assert set(tm) == {"deploy_s", "probe_s", "evidence_s", "destroy_s"}
    assert tm["deploy_s"] >= 0.05 + 2 * 0.03  # the deployment and both later stages' actions
    assert tm["probe_s"] >= 3 * 0.04  # three stages measured
    assert tm["destroy_s"] >= 0.06
    assert tm["evidence_s"] >= 0
    assert tm["deploy_s"] < 5 and tm["probe_s"] < 5  # seconds, not milliseconds


def test_outcomes_decided_by_the_backend_reach_the_verdict():
    def nothing_answers(src: Endpoint, dst: Endpoint, probe: Probe) -> Outcome:
        return Outcome.UNREACHABLE

    result = run_topology(staged(), backend=FakeBackend(decide=nothing_answers))
    assert result.verdict.summary() == "2 correct, 2 wrong"
    assert not result.ok


def test_result_json_validates_against_schema_1():
    result = run_topology(staged(), backend=FakeBackend())
    jsonschema.Draft202012Validator(schema1()).validate(result.to_json())


def test_expectation_without_address_is_judged_on_the_default_address_even_after_an_override():
    """Two expectations on one pair and probe: one with address=, one without. Each must be
    judged on its own observation, whatever order they are declared in."""
    s = Scenario("override")
    s.lan("lan0", subnet="198.18.30.0/24")
    s.lan("lan1", subnet="198.18.31.0/24")
    s.container("c1")
    # the fake gives a node its lan addresses only: default pick = primary = host's lan0 address
    s.expect("c1", "host", "tcp:80", reachable=False, address="198.18.31.254")
    s.expect("c1", "host", "tcp:80", reachable=True)
    t = s.build()

    class ByAddress(FakeBackend):
        def probing(self, dep: Deployment) -> Probing:
            def answer(task: Task) -> Answer:
                reach = task.address == IPv4Address("198.18.30.254")
                return Answer(Outcome.REACHABLE if reach else Outcome.UNREACHABLE, None, "")

            return Decided(answer)

    result = run_topology(t, backend=ByAddress())
    got = [
        (str(c.expectation.address), c.observation.address if c.observation else None, c.ok)
        for c in result.verdict.checks
    ]
    assert got == [
        ("198.18.31.254", IPv4Address("198.18.31.254"), True),
        ("None", IPv4Address("198.18.30.254"), True),
    ]
