"""RunOptions as every entry point hands them on: docker-only options refused wherever the netns backend runs,
--daemon-timeout reaching every daemon netlab asks (auto's probe, --clean-stale), run_scenario taking every
option as a keyword and its older parameters by position."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netlab import Scenario, cleanup
from netlab.backends import registry
from netlab.backends.fake import FakeBackend
from netlab.cli import run as run_cli
from netlab.errors import UsageError
from netlab.model.topology import Topology
from netlab.options import DOCKER_ONLY, RunOptions
from netlab.runner import run_scenario


@pytest.mark.parametrize(
    "options",
    [
        RunOptions(image="netlab/probe"),  # no --backend: netns
        RunOptions(parent="eth0"),
        RunOptions(backend="netns", image="netlab/probe"),
        RunOptions(backend="auto", kernel="uml", image="netlab/probe"),  # user-mode Linux runs no docker backend
        RunOptions(backend=FakeBackend(), parent="eth0"),
    ],
)
def test_docker_only_options_are_refused_where_the_docker_backend_does_not_run(options: RunOptions) -> None:
    with pytest.raises(UsageError, match=DOCKER_ONLY):
        options.check()


@pytest.mark.parametrize(
    "options",
    [
        RunOptions(backend="docker", image="netlab/probe"),
        RunOptions(backend="auto", parent="eth0"),
        RunOptions(nodes={"host": "ssh://me@server"}, image="netlab/probe"),  # --node alone means docker
    ],
)
def test_docker_only_options_pass_where_the_docker_backend_may_run(options: RunOptions) -> None:
    options.check()


def test_auto_asks_the_daemon_within_the_daemon_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, float | None]] = []

    def resolve(name: str, daemon_timeout: float | None = None) -> str:
        asked.append((name, daemon_timeout))
        return "fake"

    monkeypatch.setattr(registry, "resolve", resolve)
    assert RunOptions(backend="auto", daemon_timeout=2.5).resolved().chosen.name == "fake"
    assert asked == [("auto", 2.5)]


def test_auto_builds_its_docker_probe_with_the_daemon_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, object]] = []

    class Unanswered(FakeBackend):
        def check(self, topology: Topology | None) -> None:
            raise UsageError("no daemon")

    def get(name: str, **options: object) -> Any:
        made.append({"name": name, **options})
        return Unanswered()

    monkeypatch.setattr(registry, "get", get)
    assert registry.resolve("auto", daemon_timeout=4.0) == "netns"
    assert registry.resolve("auto") == "netns"
    assert made == [{"name": "docker", "daemon_timeout": 4.0}, {"name": "docker"}]


def test_clean_stale_passes_the_daemon_timeout_on(monkeypatch: pytest.MonkeyPatch) -> None:
    cleaned: list[dict[str, Any]] = []
    monkeypatch.setattr(cleanup, "stale", lambda: ["a dead run"])
    monkeypatch.setattr(cleanup, "clean", lambda **kw: cleaned.append(kw) or [])
    run_cli.prepare(RunOptions(nodes={"host": "ssh://me@server"}, daemon_timeout=7.0), clean_stale=True)
    assert cleaned == [{"daemon_timeout": 7.0}]


def _trio() -> Scenario:
    s = Scenario("trio")
    net = s.network("net")
    a, b = s.container("a", net), s.container("b", net)
    s.expect(a, b)
    return s


def test_run_scenario_takes_every_run_option_as_a_keyword(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = run_scenario(_trio(), backend=FakeBackend(), timeout=0.2, json_file=str(out), daemon_timeout=5.0)
    assert result.ok and json.loads(out.read_text())["ok"] is True
    with pytest.raises(TypeError, match="no_such_option"):
        run_scenario(_trio(), backend=FakeBackend(), no_such_option=1)


def test_run_scenario_keeps_its_positional_parameters() -> None:
    # spec, backend, timeout, kernel, pcap, decode, expect, keep, narrator, why
    result = run_scenario(_trio(), FakeBackend(), 0.2, "host", None, False)
    assert result.ok and result.evidence["cells"] == []  # decode=False arrived in its place
    with pytest.raises(TypeError, match="multiple values for argument 'timeout'"):
        run_scenario(_trio(), FakeBackend(), 0.2, timeout=0.3)
    with pytest.raises(TypeError, match="at most 10 positional arguments"):
        run_scenario(_trio(), FakeBackend(), 0.2, "host", None, True, None, False, None, False, "extra")


@pytest.mark.parametrize("backend", ["docker", "podman"])
def test_user_mode_linux_refuses_the_backends_that_need_a_daemon(backend: str) -> None:
    with pytest.raises(UsageError, match=f"--kernel uml runs the netns and cni backends.*not --backend {backend}"):
        RunOptions(backend=backend, kernel="uml").check()


@pytest.mark.parametrize("backend", ["netns", "auto", "cni"])
def test_user_mode_linux_runs_netns_and_cni(backend: str) -> None:
    RunOptions(backend=backend, kernel="uml").check()
