"""Fitting output to a projector's terminal: grids stacked or numbered, long lines wrapped with a continuation
mark, at 80, 100 and 160 columns no line wider than asked."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from netlab import Scenario, loader
from netlab.backends.fake import FakeBackend
from netlab.report import console, fit
from netlab.report import explain as explain_report
from netlab.runner import run_topology


def test_a_long_line_breaks_at_spaces_with_a_mark_and_an_indent() -> None:
    line = "  filter  + -A FORWARD -o br-3dfaade13828 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    lines = fit.wrap(line, 60)
    assert all(len(x) <= 60 for x in lines) and len(lines) == 2
    assert lines[0].endswith(" \\") and lines[1].startswith("    ")
    assert " ".join(x.removesuffix(" \\").strip() for x in lines) == line.strip()  # nothing lost
    word = "x" * 130
    assert all(len(x) <= 50 for x in fit.wrap(word, 50))  # one long word: broken where it must


def test_the_width_is_asked_else_columns_else_the_terminal_else_100(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert fit.width(90) == 90 and fit.width(5) == fit.NARROWEST
    assert fit.width(None, io.StringIO()) == 100  # no terminal
    monkeypatch.setenv("COLUMNS", "132")
    assert fit.width(None, io.StringIO()) == 132


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_a_run_report_fits_the_width(columns: int) -> None:
    r = run_topology(loader.load("bridge"), FakeBackend(node_gateways=True))
    text = fit.fit(console.render(r, predicted=True, width=columns), columns)
    assert max(fit.visible(x) for x in text.splitlines()) <= columns
    beside = any(x.startswith("expected") and "observed" in x for x in text.splitlines())
    assert beside == (columns == 160)  # the three grids side by side only where they fit


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_explain_fits_the_width(columns: int) -> None:
    for name in ("bridge", "macvlan", "overlay"):
        text = fit.fit(explain_report.render(loader.load(name)), columns)
        assert max(fit.visible(x) for x in text.splitlines()) <= columns


def test_a_grid_too_wide_for_the_terminal_numbers_its_columns_with_a_legend() -> None:
    s = Scenario("wide")
    net = s.network("n")
    for i in range(30):
        s.container(f"container{i:02d}", net)
    r = run_topology(s.build(), FakeBackend())
    text = console.render(r, width=80)
    assert "columns: 1=host  2=container00" in text
    grid = next(x for x in text.splitlines() if x.startswith("observed"))
    assert "container00" not in grid and " 1 " in grid
    assert max(fit.visible(x) for x in fit.fit(text, 80).splitlines()) <= 80


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_explain_bridge_at_a_projector_s_widths_matches_its_golden_file(columns: int) -> None:
    """Regenerate after a deliberate change: the test's own rendering, written to tests/data, then read the diff."""
    golden = Path(__file__).resolve().parent.parent / "data" / f"explain_bridge_{columns}.txt"
    assert fit.fit(explain_report.render(loader.load("bridge")), columns) == golden.read_text()
