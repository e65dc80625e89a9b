"""Conditional expectations (`when=`) per cell: judged on the facts of the right node, skipped as JUnit cells
where no variant applies, shown as undecided where none can be judged, and kept when written back as a matrix."""

from __future__ import annotations

import textwrap

import pytest

from netlab import Scenario
from netlab.model import matrixfile
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Topology
from netlab.verdict import compare, judged_on

pytest_plugins = ["pytester"]


def two_hosts() -> Topology:
    """A container on `host`, probed from the other Docker host n2 and from host itself."""
    s = Scenario("two")
    s.node("n2")
    web = s.container("web", s.network("front"))
    s.expect("n2", web, reachable=False, when={"forward_policy": "DROP"})
    s.expect("n2", web, reachable=True, when={"forward_policy": "ACCEPT"})
    s.expect(web, "n2", reachable=True, when={"forward_policy": "ACCEPT"})
    return s.build()


def _all(t: Topology, outcome: Outcome) -> list[Observation]:
    return [Observation("initial", e.src, e.dst, None, e.probe, outcome) for e in t.stages[0].expectations]


def test_a_cell_from_a_node_is_judged_on_that_nodes_facts() -> None:
    t = two_hosts()
    assert [judged_on(t, e) for e in t.stages[0].expectations] == ["n2", "n2", "host"]
    env = {"nodes": {"host": {"forward_policy": "ACCEPT"}, "n2": {"forward_policy": "DROP"}}}
    v = compare(t, _all(t, Outcome.UNREACHABLE), env)
    # n2 -> web: n2's DROP applies (not host's ACCEPT); web -> n2: the container's node, host, is ACCEPT
    assert [(c.expectation.src, c.condition) for c in v.checks] == [
        ("n2", "forward_policy=DROP"),
        ("web", "forward_policy=ACCEPT"),
    ]


def test_a_node_without_facts_is_undecided_not_judged_on_another_nodes() -> None:
    t = two_hosts()
    v = compare(t, _all(t, Outcome.UNREACHABLE), {"nodes": {"host": {"forward_policy": "DROP"}}})
    undecided = [c for c in v.checks if c.undecided]
    assert [(c.expectation.src, c.expectation.reachable) for c in undecided] == [("n2", False), ("n2", True)]
    assert all("forward_policy of node n2 unknown" in c.reason for c in undecided)


def test_render_keeps_the_conditional_variants_of_a_cell() -> None:
    s = Scenario("routed")
    ext = s.peer("ext", s.lan("lan0"))
    web = s.container("web", s.network("front"))
    s.expect(ext, web, reachable=False, when={"forward_policy": "DROP"})
    s.expect(ext, web, reachable=True, when={"forward_policy": "ACCEPT"})
    s.expect(web, ext, reachable=True)
    t = s.build()
    text = matrixfile.render(t)
    # the conditional cell is written "not checked" (not flattened to one of its outcomes) and named below
    assert text == (
        "stage: initial\n"
        "probe: icmp\n"
        "     web ext\n"
        "ext    -   -\n"
        "web    -   .\n"
        "# conditional, not in the table: ext -> web: X where forward_policy=DROP; . where forward_policy=ACCEPT\n"
    )
    again = matrixfile.apply(t, matrixfile.parse_table(text))
    assert [(e.src, e.dst, e.reachable, e.when) for e in again.stages[0].expectations] == [("web", "ext", True, ())]


SCENARIO = """\
from netlab import Scenario

s = Scenario("cond")
net = s.network("front")
a = s.container("a", net)
b = s.container("b", net)
s.expect(a, b, reachable=True, when={"forward_policy": "ACCEPT"})  # the fake host is DROP: no variant applies
s.expect(b, a, reachable=True, when={"engine": ">=28"})  # the fake backend names no engine: undecided
s.expect(a, b, "tcp:80", reachable=True)
SCENARIO = s
"""


def test_junit_cells_skip_a_cell_no_variant_applies_to_and_fail_an_undecided_one(pytester: pytest.Pytester) -> None:
    pytester.makefile(".py", cond=SCENARIO)
    pytester.makepyfile(
        test_cond=textwrap.dedent(
            """
            import pytest

            @pytest.mark.netlab(scenario="cond.py")
            def test_cond(netlab_result):
                pass
            """
        )
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-v", "-rs", "--netlab-backend", "fake", "--netlab-junit-cells"
    )
    result.assert_outcomes(passed=2, skipped=1, failed=1)
    out = result.stdout.str()
    assert "initial: a -> b icmp: applies only where (forward_policy=ACCEPT); this host: forward_policy=DROP" in out
    assert (
        "initial: b -> a icmp: expected reachable, observed error (not judged: this run cannot tell whether "
        "engine>=28 holds here (engine of node host unknown))"
    ) in out
