"""The machine's own sysctls and processes: netlab writes none of the former and leaves none of the latter.

Namespaces copy their IPv4 settings from the root namespace when they are created, and /proc/sys/net shows
the namespace of the calling thread: a sysctl written for a namespace from a thread that is not inside it
lands in the root namespace. That happened to the simulated Docker host's forwarding, so these tests run
every bundled scenario with the machine's forwarding off (restored afterwards) and on, and compare."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
from hostsnap import HostSnapshot

from netlab import loader, nsthread
from netlab.backends import cgroups
from netlab.backends.base import NO_HOOKS
from netlab.backends.fake import FakeBackend
from netlab.backends.journal import Journal
from netlab.backends.netns.links import Sessions
from netlab.errors import DeployError
from netlab.kernel import features, hoststate
from netlab.report import console
from netlab.runner import run_scenario, run_topology

FORWARD = "/proc/sys/net/ipv4/ip_forward"
#: a key every network namespace has (the neighbour tables' limits exist in the machine's first namespace only)
DEFAULT_FORWARDING = "/proc/sys/net/ipv4/conf/default/forwarding"
HOST_KERNEL = [i.name for i in loader.bundled() if i.name not in ("ipvlan", "ipvlan_l2", "macvlan_vlan")]
IPVLAN = ["ipvlan", "ipvlan_l2"]


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


@pytest.fixture
def root_forwarding() -> Iterator[None]:
    """Lets a test set the machine's IPv4 forwarding; every forwarding value is put back afterwards
    (ip_forward first: writing it sets all, default and every interface; then each that differed)."""
    before = hoststate.root_sysctls()
    yield
    _write(FORWARD, before["net.ipv4.ip_forward"])
    for key, value in before.items():
        if key.startswith("net.ipv4.conf.") and key.endswith(".forwarding"):
            path = "/proc/sys/" + key.replace(".", "/")
            if os.path.exists(path) and _read(path) != value:
                _write(path, value)
    assert hoststate.changes(before, hoststate.root_sysctls()) == []


@pytest.fixture
def scratch_ns() -> Iterator[str]:
    name = f"nltest{os.getpid() % 10000}-sysctl"
    path = nsthread.create(name)
    try:
        yield path
    finally:
        nsthread.remove(name)


def _cells(result: object) -> dict[tuple[str, str, str, str], str]:
    return {(o.stage, o.src, o.dst, str(o.probe)): str(o.outcome) for o in result.observations}  # type: ignore[attr-defined]


# -- the mix-up itself ------------------------------------------------------------------------


def test_sysctl_written_beside_a_bound_netlink_session_lands_in_that_namespace(scratch_ns: str) -> None:
    """The old pattern: a netlink socket bound to the namespace, the thread still in the root one."""
    root = _read(FORWARD)
    want = "0" if root == "1" else "1"
    sessions = Sessions()
    try:
        with sessions.use(scratch_ns):
            nsthread.write_sysctls(scratch_ns, {"net.ipv4.ip_forward": want})
    finally:
        sessions.close()
    assert nsthread.read_sysctl(scratch_ns, "net.ipv4.ip_forward") == want
    assert nsthread.read_sysctl(scratch_ns, "net.ipv4.conf.all.forwarding") == want
    assert _read(FORWARD) == root


def test_sysctls_of_netlabs_own_namespace_are_refused() -> None:
    with pytest.raises(DeployError, match=r"refusing to write net\.ipv4\.ip_forward"):
        nsthread.write_sysctls("/proc/self/ns/net", {"net.ipv4.ip_forward": "1"})


def test_simulated_docker_host_forwards_whatever_the_machine_does(root_forwarding: None) -> None:
    """The node's forwarding is dockerd's (on: all, default, every interface), containers' is the Docker
    host's, the lan's and the peer's off; with the machine's forwarding off and on."""
    seen: dict[str, dict[str, str]] = {}

    def grab(dep: object, index: int, obs: object) -> None:
        for name in ("host", "web", "ext"):
            ns = dep.endpoints[name].netns  # type: ignore[attr-defined]
            keys = ["net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding", "net.ipv4.conf.default.forwarding"]
            if name == "host":
                keys.append("net.ipv4.conf.eth0.forwarding")
            seen.setdefault(name, {k: nsthread.read_sysctl(ns, k) for k in keys})

    for machine in ("0", "1"):
        _write(FORWARD, machine)
        seen.clear()
        run_topology(loader.load("bridge"), backend="netns", on_stage=grab)
        assert set(seen["host"].values()) == {"1"}, (machine, seen)
        assert set(seen["web"].values()) == {"1"}, (machine, seen)
        assert set(seen["ext"].values()) == {"0"}, (machine, seen)
        assert _read(FORWARD) == machine


# -- every scenario, forwarding off and on ----------------------------------------------------


@pytest.mark.parametrize("name", HOST_KERNEL)
def test_scenario_gives_the_same_matrix_with_the_machines_forwarding_off_and_on(
    name: str, host_unchanged: HostSnapshot, root_forwarding: None
) -> None:
    # host_unchanged first: its snapshot is compared after root_forwarding put the machine's forwarding back
    _write(FORWARD, "0")
    off = run_scenario(name, backend="netns")
    assert _read(FORWARD) == "0", "the run switched the machine's forwarding on"
    assert off.ok, off.verdict.summary()
    assert off.host_changes == []
    _write(FORWARD, "1")
    on = run_scenario(name, backend="netns")
    assert on.ok, on.verdict.summary()
    assert _read(FORWARD) == "1"
    assert _cells(off) == _cells(on)


@pytest.mark.parametrize("name", IPVLAN)
def test_ipvlan_scenario_passes_with_the_machines_forwarding_off(name: str, root_forwarding: None) -> None:
    """Where this kernel has ipvlan, on it; elsewhere under user-mode Linux (the host's side of the run
    must not touch the machine either)."""
    _write(FORWARD, "0")
    kernel = "host" if features.link_kinds(frozenset({"ipvlan"}))["ipvlan"] == "" else "uml"
    result = run_scenario(name, backend="netns", kernel=kernel)
    assert result.ok, result.verdict.summary()
    assert _read(FORWARD) == "0"
    assert [c for c in result.host_changes if not c.startswith("inside")] == []


# -- what the run and the snapshot notice -----------------------------------------------------


class _TouchesRoot(FakeBackend):
    """A backend with the bug this file is about: it changes a root-namespace sysctl while deploying."""

    def deploy(self, topology, run, journal: Journal, hooks=NO_HOOKS):  # type: ignore[no-untyped-def]
        _write(DEFAULT_FORWARDING, str(1 - int(_read(DEFAULT_FORWARDING))))
        return super().deploy(topology, run, journal, hooks)


def test_run_reports_a_root_sysctl_that_changed() -> None:
    old = _read(DEFAULT_FORWARDING)
    try:
        result = run_topology(loader.load("bridge"), backend=_TouchesRoot())
    finally:
        _write(DEFAULT_FORWARDING, old)
    assert result.host_changes == [f"net.ipv4.conf.default.forwarding {old} -> {1 - int(old)}"]
    text = console.render(result)
    assert "the machine's own sysctls differ after the run" in text
    assert result.to_json()["host_changes"] == result.host_changes


def test_snapshot_sees_a_changed_root_sysctl() -> None:
    key = DEFAULT_FORWARDING
    old = _read(key)
    before = HostSnapshot.take()
    try:
        _write(key, str(1 - int(old)))
        assert before.diff(HostSnapshot.take()) == ["sysctls"]
    finally:
        _write(key, old)
    assert before.diff(HostSnapshot.take()) == []


def test_snapshot_sees_a_process_left_in_a_namespace(scratch_ns: str) -> None:
    before = HostSnapshot.take()
    with nsthread.entered(scratch_ns):
        proc = subprocess.Popen(["sleep", "60"])
    try:
        after = HostSnapshot.take()
        assert before.diff(after) == ["processes"]
        assert f"{proc.pid} sleep" in after.processes
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert before.diff(HostSnapshot.take()) == []


def test_cgroup_end_kills_every_process_of_the_runs_cgroup_and_removes_it() -> None:
    """What netlab clean does for a private dockerd's shims: found by the cgroup the journal names."""
    name = cgroups.daemon_cgroup("t" + os.urandom(2).hex(), "host")
    run = name.split("-")[1]
    before = HostSnapshot.take()
    path = cgroups.create(name)
    assert path is not None
    # a process that daemonizes (double fork, parent exits): nothing but its cgroup leads to it
    subprocess.run(cgroups.enter_argv(path, ["/bin/sh", "-c", "sleep 60 >/dev/null 2>&1 &"]), check=True, timeout=10)
    left = cgroups.processes(run, name)
    assert len(left) == 1
    assert before.diff(HostSnapshot.take()) == ["cgroups"]
    assert cgroups.end(run, name) == [f"cgroup {name} (1 processes killed)"]
    assert cgroups.processes(run, name) == set()
    assert before.diff(HostSnapshot.take()) == []


def test_cgroup_end_touches_only_names_of_the_run() -> None:
    assert cgroups.end("ab12", "netlab-cd34-host") == []
    assert cgroups.end("ab12", "docker") == []
    assert cgroups.end("ab12", "netlab-ab12-../x") == []
    assert cgroups.end("", "netlab--host") == []


def test_br_netfilter_that_cannot_be_loaded_stops_the_run_before_anything_is_created(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel whose br_netfilter is a module that will not load: exit 3 naming the command, nothing created
    (it used to stop part-way through the deployment). This VM has it built in, so the kernel's answer is
    played by a missing sysctl directory and a modprobe that fails."""
    from pathlib import Path

    from netlab.errors import KernelFeatureMissing

    base = Path(str(tmp_path))
    (base / "bin").mkdir()
    (base / "bin" / "modprobe").write_text(
        "#!/bin/sh\necho 'modprobe: FATAL: Module br_netfilter not found' >&2\nexit 1\n"
    )
    (base / "bin" / "modprobe").chmod(0o755)
    monkeypatch.setenv("PATH", f"{base / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(features, "BR_NETFILTER_DIR", str(base / "no-bridge-sysctls"))
    before = HostSnapshot.take()
    with pytest.raises(KernelFeatureMissing, match=r"`modprobe br_netfilter` did not load it") as e:
        run_scenario("bridge", backend="netns")
    assert e.value.exit_code == 3
    after = HostSnapshot.take()
    assert not before.diff(after), before.describe(after)
