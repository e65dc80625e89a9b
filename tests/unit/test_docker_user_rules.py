"""Scenario.docker_user: what a rule may say (only the run's own subnets, the matches netlab knows), how it is
written down (iptables' own order, as `iptables -S` prints it), and where each engine profile puts it."""

from __future__ import annotations

import pytest

from netlab import Scenario
from netlab.backends import engines
from netlab.model.errors import InvalidScenario
from netlab.model.topology import UserRule
from netlab.narrate import deploy_steps, stage_steps


def _scenario(rule: str) -> Scenario:
    s = Scenario("t")
    s.lan("lan0", subnet="198.18.90.0/24")
    front = s.network("front", subnet="198.18.91.0/24")
    s.container("web", front)
    s.docker_user(rule)
    return s


@pytest.mark.parametrize(
    ("rule", "written"),
    [
        ("-s {front} -j DROP", "-s 198.18.91.0/24 -j DROP"),
        (
            "--jump REJECT --destination-port 80 -p tcp -d {front}",
            "-d 198.18.91.0/24 -p tcp -m tcp --dport 80 -j REJECT",
        ),
        ("-j ACCEPT -s 198.18.91.7 ! -d {lan0}", "-s 198.18.91.7/32 ! -d 198.18.90.0/24 -j ACCEPT"),
        ("-d {lan0} -p udp -m udp --sport 53 -j RETURN", "-d 198.18.90.0/24 -p udp -m udp --sport 53 -j RETURN"),
    ],
)
def test_a_rule_is_written_in_iptables_order(rule: str, written: str) -> None:
    t = _scenario(rule).build()
    assert t.stages[0].actions == (UserRule("host", written),)
    assert t.user_rules(0, "host") == (UserRule("host", written),)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("-j DROP", "give -s or -d"),
        ("! -s {front} -j DROP", "not negated"),
        ("-s 10.0.0.0/8 -j DROP", "outside the scenario's subnets"),
        ("-s 198.18.0.0/15 -j DROP", "outside the scenario's subnets"),
        ("-s {nosuch} -j DROP", "no network or lan of that name"),
        ("-s {front} -j LOG", "use ACCEPT, DROP, REJECT or RETURN"),
        ("-s {front} -i eth0 -j DROP", "'-i' is not a match netlab knows"),
        ("-s {front} --dport 80 -j DROP", "need -p tcp or -p udp"),
        ("-s {front} -p tcp --dport 99999 -j DROP", "a port is 1-65535"),
        ("-s {front} -s {lan0} -j DROP", "given twice"),
        ("-s {front}", "needs a target"),
    ],
)
def test_a_rule_that_could_touch_other_traffic_or_is_not_understood_is_refused(rule: str, message: str) -> None:
    with pytest.raises(InvalidScenario, match=message):
        _scenario(rule).build()


def test_a_stage_adds_rules_after_the_scenario_s_own_and_the_story_tells_them() -> None:
    s = _scenario("-s {front} -j DROP")
    with s.stage("more") as st:
        st.docker_user("-d {front} -p tcp --dport 80 -j REJECT", node="host")
    t = s.build()
    assert [r.rule for r in t.user_rules(1, "host")] == [
        "-s 198.18.91.0/24 -j DROP",
        "-d 198.18.91.0/24 -p tcp -m tcp --dport 80 -j REJECT",
    ]
    assert [r.rule for r in t.user_rules(0, "host")] == ["-s 198.18.91.0/24 -j DROP"]
    assert "iptables -I DOCKER-USER -s 198.18.91.0/24 -j DROP" in deploy_steps(t)[-1].docker[0]
    assert stage_steps(t, t.stages[1])[0].what.startswith("Add a rule of your own to host's DOCKER-USER chain")


@pytest.mark.parametrize("profile", ["20.10", "28", "29"])
def test_each_iptables_profile_gets_the_rules_first_in_its_docker_user_chain(profile: str) -> None:
    p = engines.get(profile)
    net = _scenario("-s {front} -j DROP").build().network("bridge")
    rules = engines.with_user_rules(p.render([net], [], engines.Host()), ["-s 198.18.91.0/24 -j DROP"])
    lines = rules.iptables.splitlines()
    mine = lines.index("-A DOCKER-USER -s 198.18.91.0/24 -j DROP")
    assert lines.index("*filter") < mine < lines.index("COMMIT", lines.index("*filter"))
    own = [i for i, line in enumerate(lines) if line.startswith("-A DOCKER-USER ") and i != mine]
    assert all(mine < i for i in own)  # ahead of 20.10's `-j RETURN`; 28.3 on has none
