"""The pytest plugin, driven with pytester in a subprocess (the `pytest11` entry point as a user gets it):
a passing and a failing matrix test, the failure's diff table, JUnit cases per cell, skips with a
reason, and four runs at once under pytest-xdist leaving the host as it was."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hostsnap import HostSnapshot

pytest_plugins = ["pytester"]

LAYOUT = """\
from netlab import Scenario
s = Scenario("layout", title="two tiers")
front = s.network("front", driver="bridge")
back = s.network("back", driver="bridge")
web = s.container("web", front)
app = s.container("app", front, back)
db = s.container("db", back)
s.expect_matrix('''
        web  app  db
  web    -    .    X
  db     X    .    -
''')
SCENARIO = s
"""

TESTS = """\
import pytest
from netlab.testing import assert_reachability

@pytest.mark.netlab(scenario="layout.py")
def test_tiers_are_isolated(netlab_result):
    assert_reachability(netlab_result, '''
            web  app  db
      web    -    .    X
      app    .    -    .
      db     X    .    -
    ''')

@pytest.mark.netlab(scenario="layout.py")
def test_wrong_belief(netlab_result):
    netlab_result.expect('''
            db
      web    .
    ''')
"""


def _outcomes(result: pytest.RunResult) -> dict[str, int]:
    return {k: v for k, v in result.parseoutcomes().items() if k in ("passed", "failed", "skipped", "errors")}


def test_passing_and_failing_matrix_tests(pytester: pytest.Pytester, host_unchanged: HostSnapshot) -> None:
    pytester.makefile(".py", layout=LAYOUT)
    pytester.makepyfile(test_layout=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--netlab-backend", "netns")
    assert _outcomes(result) == {"passed": 1, "failed": 1}, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*test_tiers_are_isolated[[]netns[]] PASSED*", "*test_wrong_belief[[]netns[]] FAILED*"]
    )
    out = result.stdout.str()
    # the failure message is the diff table: expected / observed / diff with the wrong cell starred
    assert "expected" in out and "observed" in out and "diff" in out
    assert "WRONG web -> db icmp: expected reachable, observed unreachable" in out
    assert "0 correct, 1 wrong, 0 errors" in out


def test_junit_has_one_case_per_cell(pytester: pytest.Pytester, host_unchanged: HostSnapshot) -> None:
    pytester.makefile(".py", layout=LAYOUT)
    pytester.makepyfile(
        test_cells="""
import pytest

@pytest.mark.netlab(scenario="layout.py")
def test_layout(netlab_result):
    assert netlab_result.ok
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--netlab-backend", "netns", "--netlab-junit-cells", "--junitxml=out.xml"
    )
    assert _outcomes(result) == {"passed": 5}, result.stdout.str()  # the test + its 4 expectations
    cases = ET.parse(pytester.path / "out.xml").getroot().iter("testcase")
    names = sorted(c.get("name") for c in cases)
    assert names == [
        "test_layout[netns:initial:db->app:icmp]",
        "test_layout[netns:initial:db->web:icmp]",
        "test_layout[netns:initial:web->app:icmp]",
        "test_layout[netns:initial:web->db:icmp]",
        "test_layout[netns]",
    ]


def test_an_unavailable_backend_is_skipped_with_its_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_skip="""
def test_bridge(netlab_run):
    netlab_run("bridge")
"""
    )
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    # by default every test runs on both backends; without a daemon the docker instance is skipped, saying why
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "-v")
    assert _outcomes(result) == {"passed": 1, "skipped": 1}, result.stdout.str()
    result.stdout.fnmatch_lines(["*test_bridge[[]netns[]] PASSED*", "*netlab backend docker unavailable*"])
    bad = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--netlab-backend", "vmware")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*unknown backend 'vmware'*"])


def test_four_runs_at_once_under_xdist(pytester: pytest.Pytester, host_unchanged: HostSnapshot) -> None:
    pytester.makepyfile(
        test_many="""
import pytest

@pytest.mark.parametrize("i", range(4))
def test_bridge(netlab_run, i):
    result = netlab_run("bridge")
    assert result.ok, result.verdict.summary()
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "4", "--netlab-backend", "netns")
    assert _outcomes(result) == {"passed": 4}, result.stdout.str()


def test_keep_leaves_the_deployment_up_until_netlab_clean(
    pytester: pytest.Pytester, host_unchanged: HostSnapshot
) -> None:
    import re
    import subprocess

    from netlab.backends import naming

    pytester.makepyfile(
        test_keep="""
def test_keep(netlab_run):
    result = netlab_run("bridge_icc")
    print("RUN", result.run)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--netlab-backend", "netns", "--netlab-keep")
    try:
        assert _outcomes(result) == {"passed": 1}, result.stdout.str()
        run = re.search(r"RUN (\w+)", result.stdout.str()).group(1)  # type: ignore[union-attr]
        kept = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
        assert naming.run_prefix(run) in kept  # still there for inspection
    finally:
        clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert f"run {run}: removed" in clean.stdout


SCENARIO_OBJECT_TEST = """\
from netlab import Scenario


def two_nets():
    s = Scenario("twonets")
    a = s.network("a", driver="bridge")
    b = s.network("b", driver="bridge")
    s.container("a1", a)
    s.container("a2", a)
    s.container("b1", b)
    return s


def test_a_scenario_built_in_the_test(netlab_run):
    result = netlab_run(two_nets())
    result.expect("a1", "a2", "icmp", reachable=True)
    result.expect("a1", "b1", "icmp", reachable=False)
    result.expect('''
           a2  b1
      a1   .   X
    ''')
"""


def test_netlab_run_takes_a_scenario_object(pytester: pytest.Pytester, host_unchanged: HostSnapshot) -> None:
    """`netlab_run(two_nets())` with a Scenario built in the test (it failed with AttributeError 'endswith')."""
    pytester.makepyfile(test_objects=SCENARIO_OBJECT_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--netlab-backend", "netns")
    assert _outcomes(result) == {"passed": 1}, result.stdout.str()
