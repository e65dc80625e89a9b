"""The docker backend without a daemon: what it reports of a daemon it cannot find, and the errors of its
libraries that a deployment turns into DeployError (exit 3 with what failed) instead of a traceback."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest
from pyroute2.netlink.exceptions import ChaoticException, NetlinkDecodeError

from netlab import Scenario
from netlab.backends.base import Deployment, Hooks
from netlab.backends.docker import daemons
from netlab.backends.docker.backend import DockerBackend
from netlab.backends.docker.state import State
from netlab.errors import DeployError


class _Engine:
    def info(self) -> dict[str, Any]:
        return {}

    def version(self) -> dict[str, Any]:
        return {"Version": "28.5.2"}


class _NoDaemon(DockerBackend):
    """The local engine's calls answered by a stand-in: nothing reaches a daemon."""

    def client(self) -> Any:
        return _Engine()


def _failing(error: BaseException) -> Hooks:
    """Hooks whose firewall reading (the first thing a local deployment does) raises `error`."""

    def read_firewall(netns: str) -> str:
        raise error

    return Hooks(read_firewall=read_firewall)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (NetlinkDecodeError(ValueError("bad attribute")), "the kernel's netlink answer could not be decoded"),
        (ChaoticException(), "the kernel's netlink answer could not be decoded (ChaoticException"),
        (docker.errors.StreamParseError("not JSON"), "streamed answer (an image build or pull) could not be parsed"),
    ],
)
def test_library_errors_during_deploy_are_deploy_errors(error: BaseException, words: str) -> None:
    s = Scenario("one")
    s.container("web", s.network("front"))
    with pytest.raises(DeployError, match=r"docker backend: deploying 'one' failed") as e:
        _NoDaemon().deploy(s.build(), "r1", None, _failing(error))  # type: ignore[arg-type]
    assert words in str(e.value)
    assert e.value.__cause__ is error
    assert e.value.exit_code == 3


def test_no_daemon_options_are_reported_when_the_daemon_process_is_not_found() -> None:
    s = Scenario("two")
    s.node("n2")
    dep = Deployment("r1", "docker", s.build(), None)  # type: ignore[arg-type]
    st = State(private=True)
    st.daemons["host"] = daemons.PrivateDaemon("host", "ns", "/nonexistent", "/nonexistent", proc=None)
    dep.state["docker"] = st
    _NoDaemon()._daemon_facts(dep)
    assert "daemon_options" not in dep.facts and "userland_proxy" not in dep.facts
