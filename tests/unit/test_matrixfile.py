"""Expected matrices as truth tables: the plain and YAML formats, strict errors with line and column,
`Scenario.expect_matrix`, and `netlab run --expect FILE --check` on the fake backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import ALL_HOLD, run_main, scenario_file

from netlab import Scenario, loader
from netlab.errors import UsageError
from netlab.model import matrixfile
from netlab.model.errors import InvalidScenario
from netlab.model.matrixfile import MatrixError

PLAIN = """\
# three containers
        web  app  db
web      -    .    X
app      .    -    X   # app cannot reach db
db       X    X    -

probe: tcp:80
        web
app      .
"""


def topology():
    s = Scenario("trio")
    net = s.network("net")
    for name in ("web", "app", "db"):
        s.container(name, net)
    with s.stage("later") as st:
        st.disconnect("db", "net")
    return s.build()


def test_plain_tables_give_one_cell_per_checked_entry() -> None:
    cells = matrixfile.parse_table(PLAIN)
    got = {(c.probe, c.src, c.dst): c.reachable for c in cells}
    assert got == {
        ("icmp", "web", "app"): True,
        ("icmp", "web", "db"): False,
        ("icmp", "app", "web"): True,
        ("icmp", "app", "db"): False,
        ("icmp", "db", "web"): False,
        ("icmp", "db", "app"): False,
        ("tcp:80", "app", "web"): True,
    }
    first = next(c for c in cells if (c.src, c.dst) == ("web", "db"))
    assert (first.line, first.col) == (3, 20)


@pytest.mark.parametrize(
    ("text", "line", "col", "words"),
    [
        ("  a b\na - ?\n", 2, 5, "'?'"),
        ("  a b\na - . .\n", 2, 7, "2 destinations"),
        ("  a b\na -\n", 2, 4, "has 1 cells"),
        ("  a a\n", 1, 5, "appears twice"),
        ("  a b\na . .\n", 2, 3, "not probed from itself"),
        ("  a b\na - .\na - .\n", 3, 1, "second row"),
        ("probe: ftp:21\n", 1, 8, "bad probe"),
        ("colour: red\n", 1, 1, "unknown setting 'colour'"),
        ("stage:\n", 1, 1, "needs a value"),
        ("  a b\nb . -\n\n  a\nb X\n", 5, 3, "already given on line 2"),
    ],
)
def test_errors_name_line_and_column(text: str, line: int, col: int, words: str) -> None:
    with pytest.raises(MatrixError) as e:
        matrixfile.parse_table(text, "m.txt")
    assert str(e.value).startswith(f"m.txt:{line}:{col}: "), str(e.value)
    assert words in str(e.value)


def test_yaml_file_errors_point_into_the_file(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    # a YAML block's first line sets its indentation: the header starts with a corner label
    f.write_text(
        "matrices:\n  - stage: later\n    probe: icmp\n    table: |\n      src\\dst web app\n      web       -  maybe\n"
    )
    with pytest.raises(MatrixError) as e:
        loader.load_matrix(f)
    assert str(e.value).startswith(f"{f}:6:20: cell web -> app is 'maybe'"), str(e.value)
    f.write_text("matrices:\n  - stage: later\n    tabel: x\n")
    with pytest.raises(MatrixError, match=r"m\.yaml:3:5: unknown key 'tabel'"):
        loader.load_matrix(f)
    f.write_text("matrices: [\n")
    with pytest.raises(MatrixError, match="not valid YAML"):
        loader.load_matrix(f)


def test_yaml_and_plain_files_apply_to_their_stages(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(
        "matrices:\n  - stage: later\n    table: |\n      \\    web app\n      web  -   X\n"
        "  - probe: dns:web\n    table: |\n      \\    web\n      app  .\n"
    )
    t = matrixfile.apply(topology(), loader.load_matrix(f), str(f))
    initial, later = t.stages
    assert [(e.src, e.dst, str(e.probe), e.reachable) for e in initial.expectations] == [
        ("app", "web", "dns:web", True)
    ]
    assert [(e.src, e.dst, str(e.probe), e.reachable) for e in later.expectations] == [("web", "app", "icmp", False)]


def test_unknown_names_and_stages_are_reported_where_they_are_written(tmp_path: Path) -> None:
    f = tmp_path / "m.txt"
    f.write_text("      web  cache\nweb    -    .\n")
    with pytest.raises(MatrixError, match=r"m\.txt:1:12: unknown endpoint 'cache'"):
        matrixfile.apply(topology(), loader.load_matrix(f), str(f))
    f.write_text("stage: end\n   web\napp .\n")
    with pytest.raises(MatrixError, match=r"m\.txt:1:1: unknown stage 'end'"):
        matrixfile.apply(topology(), loader.load_matrix(f), str(f))


def test_render_reads_back_as_the_same_expectations() -> None:
    s = Scenario("trio")
    net = s.network("net")
    for name in ("web", "app", "db"):
        s.container(name, net)
    s.expect_matrix(PLAIN)
    t = s.build()
    again = matrixfile.apply(t, matrixfile.parse_table(matrixfile.render(t)))
    assert set(again.stages[0].expectations) == set(t.stages[0].expectations)
    assert len(again.stages[0].expectations) == 7


def test_scenario_expect_matrix_errors_are_scenario_errors() -> None:
    s = Scenario("trio")
    with pytest.raises(InvalidScenario, match="trio expect_matrix:2:5"):
        s.expect_matrix("  a b\na - ??\n")
    with pytest.raises(InvalidScenario, match=r"inside `with s\.stage"):
        s.expect_matrix("stage: later\n  a\nb .\n")


def test_run_with_expect_and_check(monkeypatch, capsys, tmp_path: Path) -> None:
    path = scenario_file(tmp_path, ALL_HOLD)
    good = tmp_path / "good.txt"
    good.write_text("   a b\na  - .\nb  . -\n")
    code, out, err = run_main(monkeypatch, capsys, "run", str(path), "-b", "fake", "--expect", str(good), "--check")
    assert code == 0, err
    assert out.rstrip().endswith("2 correct, 0 wrong, 0 errors")
    assert "firewall" not in out and "routes" not in out  # --check: the tables only
    bad = tmp_path / "bad.txt"
    bad.write_text("   a b\na  - X\nb  . -\n")
    code, out, _ = run_main(monkeypatch, capsys, "run", str(path), "-b", "fake", "--expect", str(bad), "--check")
    assert code == 1
    assert "1 correct, 1 wrong, 0 errors" in out
    assert "WRONG a -> b icmp: expected unreachable, observed reachable" in out
    broken = tmp_path / "broken.txt"
    broken.write_text("   a b\na  - Y\n")
    code, out, err = run_main(monkeypatch, capsys, "run", str(path), "-b", "fake", "--expect", str(broken))
    assert code == 2 and out == ""
    assert f"{broken}:2:6: cell a -> b is 'Y'" in err


def test_assert_reachability_never_passes_on_nothing(tmp_path: Path) -> None:
    from netlab.backends.fake import FakeBackend
    from netlab.runner import run_topology
    from netlab.testing import assert_reachability

    result = run_topology(topology(), FakeBackend())
    with pytest.raises(MatrixError, match="no cell to check"):
        assert_reachability(result, "   web app\n")  # a header and no rows
    with pytest.raises(MatrixError, match="no cell to check"):
        assert_reachability(result, "   web\napp -\n")  # only unchecked cells
    with pytest.raises(MatrixError, match="cannot read"):
        assert_reachability(result, str(tmp_path / "missing.matrix"))  # a path that is not there is not a table
    assert assert_reachability(result, "   web\napp .\n").ok  # the fake backend reaches everything
    with pytest.raises(AssertionError, match="0 correct, 1 wrong, 0 errors"):
        result.expect("   web\napp X\n")


def test_a_probe_error_points_at_the_probe_value() -> None:
    with pytest.raises(MatrixError, match=r"m:1:8: bad probe 'p'"):
        matrixfile.parse_table("probe: p\n", "m")


def test_result_expect_takes_a_cell_in_the_words_of_scenario_expect() -> None:
    from netlab.backends.fake import FakeBackend
    from netlab.runner import run_topology

    t = topology()
    result = run_topology(t, FakeBackend())
    assert result.expect("app", "web", "icmp", reachable=True).ok  # the fake backend reaches everything
    assert result.expect(t.container("app"), t.container("web")).ok  # the scenario's objects, as in s.expect
    with pytest.raises(AssertionError, match="0 correct, 1 wrong, 0 errors"):
        result.expect("app", "web", "icmp", reachable=False)
    # a probe the run did not measure is an error naming it and how to have it measured, never a pass
    with pytest.raises(UsageError, match=r"probe 'tcp:5432' was not measured in stage 'initial' .*s.measure\('app'"):
        result.expect("app", "web", "tcp:5432")
    from netlab.testing import assert_reachability

    with pytest.raises(UsageError, match="probe 'udp:53' was not measured"):
        assert_reachability(result, "   web\napp .\n", probe="udp:53")
    assert result.expect("   web\napp .\n", "icmp").ok  # the table form's probe, given positionally
    with pytest.raises(UsageError, match="give a truth table"):
        result.expect("app")
