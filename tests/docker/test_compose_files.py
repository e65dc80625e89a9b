"""`netlab compose` on both backends: the examples under examples/compose run with their expected matrices, the
cells agree between netns and a real Docker 20.10, and a hyphenated project with moved subnets leaves nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netlab import compose, runner
from netlab.options import RunOptions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "compose"


def _cells(result: runner.Result) -> dict[tuple[str, str, str], str]:
    return {(o.src, o.dst, str(o.probe)): o.outcome.value for o in result.observations}


@pytest.mark.parametrize("example", ["three-tier", "exercise4", "macvlan", "sidecar", "overlay"])
def test_the_examples_pass_on_both_backends_with_the_same_cells(example: str, host_and_docker_unchanged: None) -> None:
    results = {}
    for backend in ("netns", "docker"):
        imported = compose.load(EXAMPLES / f"{example}.yml")
        options = RunOptions(backend=backend, expect=str(EXAMPLES / f"{example}.matrix"))
        results[backend] = runner.run(imported.scenario, options)
        assert results[backend].ok, (backend, results[backend].verdict.summary())
        assert results[backend].verdict.checks, "the matrix file was applied"
        assert not results[backend].check_predicted().unpredicted  # Docker's rules, on every cell
    assert _cells(results["netns"]) == _cells(results["docker"])


def test_the_command_prints_what_it_moved_and_ignored(host_and_docker_unchanged: None) -> None:
    proc = subprocess.run(
        ["netlab", "compose", str(EXAMPLES / "three-tier.yml"), "--expect", str(EXAMPLES / "three-tier.matrix")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "subnet 10.15.0.0/24 moved to 198.18." in proc.stderr
    assert "ignored (no effect on the network): build, environment, image, volumes" in proc.stderr
    assert "measured (nothing expected)" in proc.stdout and "tcp:5432" in proc.stdout


def test_keep_subnets_runs_the_file_s_own_subnets_on_both_backends(host_and_docker_unchanged: None) -> None:
    from ipaddress import IPv4Network

    from netlab.kernel import hoststate

    if any(net.overlaps(IPv4Network("10.15.0.0/23")) for net, _ in hoststate.host_networks(min_prefix=1)):
        pytest.skip("this machine routes 10.15.0.0/23: --keep-subnets is refused here (a test of its own checks that)")
    cells = {}
    for backend in ("netns", "docker"):
        imported = compose.load(EXAMPLES / "three-tier.yml", keep_subnets=True)
        result = runner.run(imported.scenario, RunOptions(backend=backend, expect=str(EXAMPLES / "three-tier.matrix")))
        assert result.ok, (backend, result.verdict.summary())
        assert [str(a.address) for a in result.endpoints["db"].addresses] == ["10.15.1.10"]
        cells[backend] = _cells(result)
    assert cells["netns"] == cells["docker"]
