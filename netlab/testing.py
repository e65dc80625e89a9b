"""Helpers for tests that assert reachability (the pytest plugin exposes them as well).

    from netlab import run_scenario
    from netlab.testing import assert_reachability

    result = run_scenario("bridge")
    assert_reachability(result, '''
            web  app  db
        web  -    .    X
        app  .    -    X
    ''')

A wrong cell fails with the expected / observed / diff tables as the message.
"""

from __future__ import annotations

import os
from pathlib import Path

from netlab import loader
from netlab.model import matrixfile
from netlab.result import Result
from netlab.verdict import Verdict


def assert_reachability(
    result: Result, expected: str | Path | None = None, probe: str = "icmp", stage: str | None = None
) -> Verdict:
    """Assert the run's observations match `expected`: a truth table's text, or the path of a matrix file
    (plain or YAML, which may name stages and probes itself); without it, the scenario's own expectations
    (those of `--expect`/`expect=` where given). Returns the verdict when every cell is right, else raises
    AssertionError with the expected / observed / diff tables."""
    if expected is None:
        if not result.verdict.ok:
            from netlab.report import console

            raise AssertionError("\n" + console.render_check(result))
        return result.verdict
    if isinstance(expected, Path) or (
        "\n" not in expected and (os.path.isfile(expected) or _looks_like_a_file(expected))
    ):
        return result.check_cells(loader.load_matrix(expected), str(expected))  # a missing file: MatrixError
    cells = matrixfile.parse_table(expected, "expected matrix", probe=probe.lower(), stage=stage)
    return result.check_cells(cells, "expected matrix")


def _looks_like_a_file(text: str) -> bool:
    return text.strip().endswith((".matrix", ".txt", ".yaml", ".yml"))


__all__ = ["Result", "Verdict", "assert_reachability"]
