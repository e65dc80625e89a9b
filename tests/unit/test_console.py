"""The console report: expected / observed / diff truth tables and the list of failed expectations."""

from __future__ import annotations

import re

import pytest

from netlab import Scenario
from netlab.backends.fake import FakeBackend, share_a_segment
from netlab.model.deployed import Endpoint
from netlab.model.results import Outcome
from netlab.model.topology import Probe
from netlab.report import console
from netlab.runner import Result, run_topology

ANSI = re.compile(r"\033\[[0-9;]*m")
NAMES = ["host", "a", "b", "c"]


def decide(src: Endpoint, dst: Endpoint, probe: Probe) -> Outcome:
    """host -> a cannot be probed at all; everything else is reachable when it shares a segment."""
    if (src.name, dst.name) == ("host", "a"):
        return Outcome.ERROR
    return share_a_segment(src, dst, probe)


def result() -> Result:
    """a and b on net, c on the default bridge. One expectation holds wrongly, one errors."""
    s = Scenario("console", title="Console report")
    net = s.network("net")
    a = s.container("a", net)
    b = s.container("b", net)
    c = s.container("c")
    s.expect(a, b, "icmp", reachable=True, claim="same network reaches")
    s.expect(a, c, "icmp", reachable=False)
    s.expect(b, c, "icmp", reachable=True, claim="b reaches c")
    s.expect("host", a, "icmp", reachable=True)
    s.expect(a, b, "tcp:80", reachable=True)
    with s.stage("later", "nothing changes") as st:
        st.expect(b, a, "icmp", reachable=True)
    return run_topology(s.build(), backend=FakeBackend(decide=decide))


def section(text: str, stage: str) -> list[str]:
    """The lines of one stage's part of the report."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"stage {stage}"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("stage ")), len(lines))
    return lines[start:end]


def grid(lines: list[str], title: str, names: list[str] = NAMES) -> dict[tuple[str, str], str]:
    """Read one table back: find its header (title followed by the column names), then take each
    row's cell at the column where the destination's right-aligned name ends."""
    for i, line in enumerate(lines):
        for m in re.finditer(rf"(?:^|(?<=\s)){re.escape(title)}\s", line):
            rest = line[m.start() + len(title) :]
            if rest.split()[: len(names)] != names:
                continue
            ends, pos = [], m.start() + len(title)
            for n in names:
                pos = line.index(n, pos) + len(n)
                ends.append(pos)
            cells = {}
            for k, src in enumerate(names):
                row = lines[i + 1 + k]
                assert row[m.start() :].startswith(src), f"row {k} of {title!r} is {row!r}"
                for dst, end in zip(names, ends, strict=True):
                    cells[(src, dst)] = row[end - 1] if len(row) >= end else " "
            return cells
    raise AssertionError(f"no table {title!r} in:\n" + "\n".join(lines))


@pytest.fixture
def text() -> str:
    # function scope: the run must see the per-test journal directory of conftest's autouse fixture
    return console.render(result(), color=False)


def test_expected_table_marks_expectations_and_dashes_elsewhere(text: str):
    g = grid(section(text, "initial"), "expected")
    assert g[("a", "b")] == "."
    assert g[("a", "c")] == "X"
    assert g[("b", "c")] == "."
    assert g[("host", "a")] == "."
    assert g[("c", "host")] == "-" and g[("b", "a")] == "-"


def test_observed_table_shows_every_measured_pair_with_error_as_bang(text: str):
    g = grid(section(text, "initial"), "observed")
    assert g[("a", "b")] == "." and g[("b", "a")] == "."
    assert g[("a", "c")] == "X" and g[("c", "b")] == "X"
    assert g[("host", "a")] == "!"
    assert g[("host", "b")] == "X"


def test_diff_table_marks_only_wrong_cells(text: str):
    g = grid(section(text, "initial"), "diff")
    assert g[("b", "c")] == "*"  # expected reachable, observed unreachable
    assert g[("host", "a")] == "!"  # an error is never right, and says it is an error
    assert g[("a", "b")] == " " and g[("a", "c")] == " "
    assert g[("c", "a")] == "-"


def test_diagonal_cells_are_blank(text: str):
    for title in ("expected", "observed", "diff"):
        g = grid(section(text, "initial"), title)
        assert {g[(n, n)] for n in NAMES} == {" "}


def test_probe_named_in_an_expectation_gets_a_row_of_its_own(text: str):
    lines = section(text, "initial")
    rows = [line.split() for line in lines if line.startswith("tcp:80")]
    assert rows == [["tcp:80", "a", "->", "b", ".", "."]]  # right: nothing in the diff column
    assert not any(line.startswith("expected tcp:80") for line in lines), "non-icmp probes get no grid"


def test_stage_without_other_probes_has_only_icmp_tables(text: str):
    lines = section(text, "later")
    assert lines[0] == "stage later: nothing changes"
    assert grid(lines, "diff")[("b", "a")] == " "
    assert not any("tcp:80" in line for line in lines)


def test_each_failed_expectation_is_listed_with_its_claim(text: str):
    lines = section(text, "initial")
    wrong = [i for i, line in enumerate(lines) if line.strip().startswith("WRONG")]
    assert len(wrong) == 1
    assert re.search(
        r"WRONG b -> c \(198\.18\.\d+\.\d+\) icmp: expected reachable, observed unreachable", lines[wrong[0]]
    )
    assert lines[wrong[0] + 1].strip() == "claim: b reaches c"
    errors = [line for line in lines if line.strip().startswith("ERROR")]
    assert len(errors) == 1
    assert "host -> a" in errors[0] and "expected reachable, observed error" in errors[0]


def test_expectations_that_held_are_not_listed_as_failures(text: str):
    failures = [line for line in text.splitlines() if line.strip().startswith(("WRONG", "ERROR"))]
    assert not any("a -> b" in line or "a -> c" in line for line in failures)


def test_claims_section_says_which_claims_held_and_which_failed(text: str):
    lines = text.splitlines()
    start = lines.index("claims")
    claims = lines[start + 1 : start + 3]
    assert re.match(r"\s+held\s+same network reaches\s+\[a -> b icmp\]", claims[0])
    assert re.match(r"\s+FAILED\s+b reaches c\s+\[b -> c icmp\]", claims[1])


def test_header_names_scenario_backend_and_run(text: str):
    r = result()
    head = console.render(r, color=False).splitlines()[:2]
    assert head[0] == "netlab run console: Console report"
    assert head[1].startswith("backend: fake  ")
    assert head[1].endswith(f"run: {r.run}")
    assert text.splitlines()[0] == "netlab run console: Console report"


def test_last_line_is_the_verdict_summary_with_the_backend(text: str):
    last = text.rstrip("\n").splitlines()[-1]
    assert last.startswith("4 correct, 1 wrong, 1 errors  (backend fake;")


def test_no_ansi_codes_without_color(text: str):
    assert "\033" not in text


def test_color_adds_ansi_codes_around_the_same_text():
    r = result()
    colored = console.render(r, color=True)
    assert "\033[" in colored
    assert ANSI.sub("", colored) == console.render(r, color=False)


def test_scenario_warnings_are_printed():
    s = Scenario("warn")
    s.container("h1", "host", publish={8080: 80})
    text = console.render(run_topology(s.build(), backend=FakeBackend()), color=False)
    assert "warning: container 'h1': published ports are discarded when using host network mode" in text


def test_table_right_aligns_cells_under_their_column_names():
    lines = console.table("expected", ["host", "c1"], {("host", "c1"): ".", ("c1", "host"): "X"})
    assert lines == [
        "expected  host c1",
        "host            .",
        "c1           X   ",
    ]
    # each cell sits under the last character of its column's name
    assert lines[2].index("X") == lines[0].index("host") + 3
    assert lines[1].index(".") == lines[0].index("c1") + 1


def test_wide_matrices_are_stacked_instead_of_side_by_side():
    names = [f"container{i:02d}" for i in range(8)]
    s = Scenario("wide")
    for n in names:
        s.container(n)
    text = console.render(run_topology(s.build(), backend=FakeBackend()), color=False)
    assert all(len(line) <= console.WIDTH for line in text.splitlines())
    lines = section(text, "initial")
    names = ["host", *names]
    for title in ("expected", "observed", "diff"):
        assert grid(lines, title, names)[("container00", "container01")] in ".X=-"


def test_a_claim_that_depends_on_the_host_says_where_it_holds():
    s = Scenario("cond")
    net = s.network("net")
    a = s.container("a", net)
    b = s.container("b", net)
    s.expect(a, b, "icmp", reachable=True, claim="reaches on a DROP host", when={"forward_policy": "DROP"})
    s.expect(a, b, "icmp", reachable=True, when={"forward_policy": "ACCEPT"})
    text = console.render(run_topology(s.build(), backend=FakeBackend(decide=decide)), color=False)
    line = next(ln for ln in text.splitlines() if "reaches on a DROP host" in ln)
    assert line.rstrip().endswith("[a -> b icmp; where forward_policy=DROP]"), line


def test_measured_cells_are_reported_and_never_fail_the_run():
    s = Scenario("measured")
    net = s.network("net")
    a = s.container("a", net)
    b = s.container("b", net)
    c = s.container("c")
    s.measure(a, b, "tcp:80")
    s.measure(a, c, "tcp:80")
    with s.stage("later", "nothing changes") as st:
        st.measure(b, a, "udp:53")
    r = run_topology(s.build(), backend=FakeBackend(decide=decide))
    assert r.ok and r.verdict.checks == ()
    text = console.render(r, color=False)
    rows = [ln.split()[:4] for ln in text.splitlines() if ln.startswith(("tcp:80", "udp:53"))]
    assert rows == [["tcp:80", "a", "->", "b"], ["tcp:80", "a", "->", "c"], ["udp:53", "b", "->", "a"]]
    assert "measured (nothing expected)" in text
    observed = {(o.stage, o.src, o.dst, str(o.probe)): o.outcome for o in r.observations}
    assert observed[("initial", "a", "b", "tcp:80")] is Outcome.REACHABLE
    assert observed[("initial", "a", "c", "tcp:80")] is Outcome.UNREACHABLE
