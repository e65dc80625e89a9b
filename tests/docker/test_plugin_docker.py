"""The pytest plugin's default: every netlab test on both backends; with a daemon the [docker] instance
runs for real and agrees with [netns]."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_both_backends_run_by_default(pytester: pytest.Pytester, host_and_docker_unchanged: None) -> None:
    pytester.makepyfile(
        test_both="""
def test_bridge_icc(netlab_run, netlab_backend):
    result = netlab_run("bridge_icc")
    assert result.backend == netlab_backend
    assert result.ok, result.verdict.summary()
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    outcomes = {k: v for k, v in result.parseoutcomes().items() if k in ("passed", "failed", "skipped")}
    assert outcomes == {"passed": 2}, result.stdout.str()
    result.stdout.fnmatch_lines(["*test_bridge_icc[[]netns[]] PASSED*", "*test_bridge_icc[[]docker[]] PASSED*"])
