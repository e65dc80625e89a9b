"""A macvlan/ipvlan network without a parent on the docker backend: Docker creates a dummy link as the parent, which
this kernel may lack; then the run exits 3 naming the remedy before anything is created."""

from __future__ import annotations

import subprocess

from shared_scenarios import no_parent

from netlab import runner
from netlab.errors import KernelFeatureMissing
from netlab.kernel import features
from netlab.options import RunOptions


def test_docker_makes_the_dummy_parent_or_the_run_says_what_is_missing(host_and_docker_unchanged: None) -> None:
    needed = features.link_kinds(frozenset({"dummy", "macvlan", "ipvlan"}))
    if all(v == "" for v in needed.values()):
        docker = runner.run(no_parent(), RunOptions(backend="docker"))
        assert docker.ok, docker.verdict.summary()
        docker.check_predicted()
        return
    try:
        runner.run(no_parent(), RunOptions(backend="docker"))
    except KernelFeatureMissing as e:
        assert "this kernel has no" in str(e) and "--kernel uml" in str(e)
    else:
        raise AssertionError("the run went ahead on a kernel without the links it needs")
    assert not subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout.count("dm-")
