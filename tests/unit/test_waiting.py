"""wait_until: returns the predicate's first true value, or names what it waited for when time runs out."""

from __future__ import annotations

import pytest

from netlab.errors import EnvironmentProblem, Timeout
from netlab.waiting import wait_until


def test_returns_the_first_true_value() -> None:
    calls = iter([None, 0, "", "ready"])
    assert wait_until(lambda: next(calls), timeout=5, what="x", interval=0) == "ready"


def test_names_what_it_waited_for() -> None:
    with pytest.raises(Timeout, match=r"waited 0\.05 s for the daemon of node 'host' to answer"):
        wait_until(lambda: False, timeout=0.05, what="the daemon of node 'host' to answer", interval=0.01)


def test_a_predicate_may_end_the_wait_with_its_own_error() -> None:
    def exited() -> bool:
        raise EnvironmentProblem("dockerd exited at start")

    with pytest.raises(EnvironmentProblem, match="exited at start"):
        wait_until(exited, timeout=5, what="dockerd")
