"""`--node NAME=URL`: an engine netlab cannot enter, probed through one batched docker exec per source.

The stand-in for a remote machine is a second dockerd, started by the test inside a namespace of its
own and reached only through its API socket: netlab gets no pid, no namespace path, nothing but the URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from netlab import loader, nsthread
from netlab.backends import journal as journals
from netlab.backends import naming
from netlab.backends.docker import daemons
from netlab.backends.docker.backend import DockerBackend
from netlab.backends.journal import Journal
from netlab.backends.netns.links import netlink_in
from netlab.model.results import Outcome
from netlab.runner import Result, run_topology

SCENARIO = str(Path(__file__).resolve().parent.parent / "data" / "remote_bridge.py")


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    run = naming.new_run_id()
    journal = Journal.open(run, "docker", "remote-engine")
    try:
        name = naming.ns_name(run, "engine")
        journal.record("netns", name)
        path = nsthread.create(name)
        with netlink_in(path) as nl:
            nl.up(nl.index("lo"))
        d = daemons.start(run, "engine", 0, path, None, journal)
        yield d.url
    finally:
        DockerBackend().cleanup(journals.read(journal.path))
        journal.close()


def _cells(result: Result) -> dict[tuple[str, str, str, str], Outcome]:
    return {(o.stage, o.src, o.dst, str(o.probe)): o.outcome for o in result.observations}


def _labelled(url: str, run: str) -> list[str]:
    c = docker.DockerClient(base_url=url)
    try:
        flt = {"label": f"{naming.LABEL_RUN}={run}"}
        return [x.name for x in c.containers.list(all=True, filters=flt)] + [
            n.name for n in c.networks.list(filters=flt)
        ]
    finally:
        c.close()


def test_remote_engine_runs_the_scenario_through_docker_exec(engine: str) -> None:
    result = run_topology(loader.load(SCENARIO), backend=DockerBackend(nodes={"host": engine}))
    assert result.ok, [
        (c.expectation.src, c.expectation.dst, str(c.expectation.probe), c.observation.detail if c.observation else "")
        for c in result.verdict.checks
        if not c.ok
    ]
    icmp = [o for o in result.observations if o.outcome is Outcome.REACHABLE and str(o.probe) == "icmp"]
    assert icmp and all("ping in the container" in o.detail for o in icmp)
    assert _labelled(engine, result.run) == []  # torn down on the engine too
    # the remote engine's own version is what `when={"engine": ...}` compares
    client = docker.DockerClient(base_url=engine)
    try:
        assert result.environment["engine_version"] == client.version()["Version"]
    finally:
        client.close()


def test_remote_and_local_engines_agree_cell_for_cell(engine: str, host_and_docker_unchanged: None) -> None:
    remote = run_topology(loader.load(SCENARIO), backend=DockerBackend(nodes={"host": engine}))
    local = run_topology(loader.load(SCENARIO), backend="docker")
    assert local.ok and remote.ok
    assert _cells(remote) == _cells(local)


def _netlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["netlab", *args], capture_output=True, text=True, timeout=120, check=False, env=os.environ)


def test_lans_and_peers_cannot_go_remote(engine: str) -> None:
    proc = _netlab("run", "bridge", "--node", f"host={engine}")
    assert proc.returncode == 2
    assert "lans/peers (lan0, ext)" in proc.stderr and "--node runs scenarios without lans and peers" in proc.stderr


@pytest.mark.parametrize(
    ("node", "code", "message"),
    [
        ("nope=unix:///x.sock", 2, "--node nope: scenario 'remote_bridge' has no such node"),
        ("host", 2, "expected NAME=URL"),
        ("host=unix:///run/netlab-no-such-engine.sock", 3, "no Docker engine answers at unix:///run/netlab-no-such"),
    ],
)
def test_bad_node_options_say_what_is_wrong(node: str, code: int, message: str) -> None:
    proc = _netlab("run", SCENARIO, "--node", node)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr


def test_an_ssh_engine_goes_through_the_ssh_client(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ssh://user@host` runs the system `ssh` with `docker system dial-stdio` on the far side (the docker
    SDK's ssh-client transport). The `ssh` on PATH here is a stand-in that runs that command locally
    against the test's engine: no sshd, but every other piece (URL, transport, docker CLI) is real."""
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI runs `docker system dial-stdio` on the far side")
    log = tmp_path / "ssh.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "ssh"
    stand_in.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        'while [ "$1" != "--" ]; do shift; done\n'
        "shift 2\n"  # "--" and the host; the remote command follows as one word
        f'DOCKER_HOST={engine} exec sh -c "$*"\n'
    )
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = run_topology(
        loader.load(SCENARIO), backend=DockerBackend(nodes={"host": "ssh://tester@engine.invalid:2222"})
    )
    assert result.ok, [
        (c.expectation.src, c.expectation.dst, str(c.expectation.probe), c.observation.detail if c.observation else "")
        for c in result.verdict.checks
        if not c.ok
    ]
    calls = log.read_text().splitlines()
    assert calls and all(c == "-l tester -p 2222 -- engine.invalid docker system dial-stdio" for c in calls)
    assert _labelled(engine, result.run) == []
