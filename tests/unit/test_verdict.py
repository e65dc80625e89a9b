"""compare(): expectations against hand-made observations."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from unit_helpers import obs

from netlab import Scenario
from netlab.model.results import Outcome
from netlab.model.topology import Topology
from netlab.verdict import compare


def topology(*expects: tuple[str, str, str, bool], address: str | None = None) -> Topology:
    """host, c1, c2 on the default bridge plus the given (src, dst, probe, reachable) expectations."""
    s = Scenario("v")
    s.container("c1")
    s.container("c2")
    for src, dst, probe, reachable in expects:
        s.expect(src, dst, probe, reachable=reachable, address=address)
    return s.build()


def test_all_expectations_held_counts_every_check_correct():
    t = topology(("c1", "c2", "icmp", True), ("c2", "c1", "tcp:80", False))
    v = compare(t, [obs("c1", "c2", "reachable"), obs("c2", "c1", "unreachable", "tcp:80")])
    assert (v.correct, v.wrong, v.errors, v.ok) == (2, 0, 0, True)
    assert v.summary() == "2 correct, 0 wrong"


def test_observation_contrary_to_the_expectation_counts_wrong():
    t = topology(("c1", "c2", "icmp", True), ("c2", "c1", "icmp", False), ("host", "c1", "icmp", True))
    v = compare(
        t,
        [obs("c1", "c2", "unreachable"), obs("c2", "c1", "reachable"), obs("host", "c1", "reachable")],
    )
    assert (v.correct, v.wrong, v.errors, v.ok) == (1, 2, 0, False)
    assert v.summary() == "1 correct, 2 wrong"
    assert [c.ok for c in v.checks] == [False, False, True]


@pytest.mark.parametrize("reachable", [True, False])
def test_error_outcome_never_counts_as_correct(reachable: bool):
    t = topology(("c1", "c2", "icmp", reachable))
    v = compare(t, [obs("c1", "c2", "error", detail="socket: permission denied")])
    (check,) = v.checks
    assert check.observed is Outcome.ERROR
    assert not check.ok and check.error
    assert (v.correct, v.wrong, v.errors, v.ok) == (0, 0, 1, False)


def test_summary_mentions_errors_only_when_there_are_some():
    t = topology(("c1", "c2", "icmp", True), ("c2", "c1", "icmp", True), ("host", "c1", "icmp", True))
    v = compare(t, [obs("c1", "c2", "reachable"), obs("c2", "c1", "unreachable"), obs("host", "c1", "error")])
    assert v.summary() == "1 correct, 1 wrong, 1 errors"


def test_expectation_without_observation_is_an_error_not_a_wrong_result():
    t = topology(("c1", "c2", "tcp:80", True))
    v = compare(t, [obs("c1", "c2", "reachable", "icmp")])
    (check,) = v.checks
    assert check.observation is None
    assert check.observed is Outcome.ERROR
    assert (v.correct, v.wrong, v.errors) == (0, 0, 1)


def test_expected_outcome_follows_the_reachable_flag():
    t = topology(("c1", "c2", "icmp", True), ("c2", "c1", "icmp", False))
    v = compare(t, [])
    assert [c.expected for c in v.checks] == [Outcome.REACHABLE, Outcome.UNREACHABLE]


def test_observation_must_match_probe_and_direction():
    t = topology(("c1", "c2", "tcp:80", True))
    v = compare(t, [obs("c2", "c1", "reachable", "tcp:80"), obs("c1", "c2", "reachable", "tcp:81")])
    assert v.errors == 1 and v.checks[0].observation is None


def test_expectation_with_address_override_matches_only_the_observation_with_that_address():
    t = topology(("c1", "host", "icmp", False), address="198.18.5.254")
    observations = [
        obs("c1", "host", "reachable", address="198.18.0.1"),  # the default pick: host's bridge address
        obs("c1", "host", "unreachable", address="198.18.5.254"),  # the override
    ]
    (check,) = compare(t, observations).checks
    assert check.observation is observations[1]
    assert check.ok


def test_expectation_with_address_override_is_an_error_when_only_other_addresses_were_probed():
    t = topology(("c1", "host", "icmp", True), address="198.18.5.254")
    (check,) = compare(t, [obs("c1", "host", "reachable", address="198.18.0.1")]).checks
    assert check.observation is None and check.error


def test_expectation_of_a_later_stage_is_judged_on_that_stages_observations_only():
    s = Scenario("v")
    s.container("c1")
    s.container("c2")
    s.expect("c1", "c2", reachable=True)
    with s.stage("cut") as st:
        st.expect("c1", "c2", reachable=False)
    t = s.build()
    v = compare(t, [obs("c1", "c2", "reachable"), obs("c1", "c2", "unreachable", stage="cut")])
    assert v.ok
    assert [c.observation.stage for c in v.checks if c.observation] == ["initial", "cut"]
    assert [c.expectation.stage for c in v.stage("cut")] == ["cut"]
    assert v.stage("nosuch") == ()


def test_checks_keep_the_order_of_stages_and_declarations():
    s = Scenario("v")
    s.container("c1")
    s.container("c2")
    with s.stage("later") as st:
        st.expect("c2", "c1")
    s.expect("c1", "c2")
    s.expect("host", "c2")
    t = s.build()
    v = compare(t, [])
    assert [(c.expectation.stage, c.expectation.src) for c in v.checks] == [
        ("initial", "c1"),
        ("initial", "host"),
        ("later", "c2"),
    ]


def test_scenario_without_expectations_is_ok_with_zero_counts():
    v = compare(topology(), [obs("c1", "c2", "unreachable")])
    assert v.ok and v.summary() == "0 correct, 0 wrong"


def test_observation_records_the_address_it_used():
    o = obs("c1", "c2", "reachable", address="198.18.1.3")
    assert o.address == IPv4Address("198.18.1.3")
    assert Outcome.REACHABLE.symbol == "." and Outcome.UNREACHABLE.symbol == "X" and Outcome.ERROR.symbol == "!"
