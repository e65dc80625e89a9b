"""Hostile input: every entry of the catalogue (docs/reliability.md) makes `netlab run` print one line on
stderr, nothing on stdout, exit 2, and create nothing (host snapshot and netlab's state directory as before).

The scripts are real files run by the real CLI; the cases that need the host (a route the host already has,
a NIC that exists) set that up and take it down again."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostsnap import HostSnapshot

HEAD = "from netlab import Scenario\n"
NET = 's = Scenario("h")\n'


def _bridge(extra: str = "", net: str = 'n = s.network("n", driver="bridge")') -> str:
    return f'{NET}{net}\ns.container("c", n)\n{extra}\nSCENARIO = s\n'


#: (id, scenario script, extra argv, what the one line must say)
CATALOGUE: list[tuple[str, str, list[str], str]] = [
    ("raises", 'raise RuntimeError("boom")', [], "the scenario script raised RuntimeError: boom"),
    ("endless-loop", "while True:\n    pass", [], "still running after 1 s"),
    ("blocking-call", "import time\ntime.sleep(3600)", [], "still running after 1 s"),
    (
        "swallows-everything",
        "while True:\n    try:\n        pass\n    except Exception:\n        pass",
        [],
        "still running after 1 s",
    ),
    (
        "swallows-every-interruption",
        "while True:\n    try:\n        while True:\n            pass\n    except:  # noqa: E722\n        pass",
        [],
        "it ignored every interruption",
    ),
    ("exits", "import sys\nsys.exit(0)", [], "called exit(0)"),
    ("imports-nonsense", "import nonsense_module_netlab", [], "No module named 'nonsense_module_netlab'"),
    ("syntax-error", "s = Scenario(", [], "syntax error"),
    ("deep-recursion", "def f():\n    return f()\nf()", [], "RecursionError"),
    ("no-scenario", "x = 1", [], "defines no SCENARIO"),
    ("scenario-of-wrong-type", "SCENARIO = 42", [], "SCENARIO is a int"),
    (
        "ten-thousand-containers",
        NET + 'n = s.network("n")\nfor i in range(10000):\n    s.container(f"c{i}", n)\nSCENARIO = s',
        [],
        "10000 containers (at most 500)",
    ),
    ("subnet-outside-pool", _bridge(net='n = s.network("n", subnet="10.1.0.0/24")'), [], "outside netlab's pool"),
    (
        "subnet-on-a-host-route",
        _bridge(net='n = s.network("n", subnet="198.18.251.0/24")'),
        [],
        "overlaps the host's route 198.18.251.0/24 dev lo",
    ),
    (
        "overlapping-subnets",
        NET + 'a = s.network("a", subnet="198.18.5.0/24")\nb = s.network("b", subnet="198.18.5.128/25")\nSCENARIO = s',
        [],
        "overlap",
    ),
    ("ipv6-subnet", _bridge(net='n = s.network("n", subnet="fd00::/64")'), [], "only IPv4"),
    ("name-too-long", _bridge(net='n = s.network("n" * 64)'), [], "names are 1-63 characters"),
    ("shell-in-a-name", _bridge(net='n = s.network("n;reboot")'), [], "names are 1-63 characters"),
    ("command-substitution", NET + 's.container("$(touch x)")\nSCENARIO = s', [], "names are 1-63 characters"),
    ("unicode-name", _bridge(net='n = s.network("nét")'), [], "names are 1-63 characters"),
    ("newline-in-a-name", _bridge(net='n = s.network("eth0\\n")'), [], "names are 1-63 characters"),
    ("path-as-scenario-name", 's = Scenario("../../etc")\nSCENARIO = s', [], "scenario name '../../etc'"),
    (
        "escape-sequence-in-title",
        's = Scenario("t", title="\\x1b[2J\\x1b[31mgone")\nSCENARIO = s',
        [],
        "control character",
    ),
    (
        "parent-that-does-not-exist",
        _bridge(net='n = s.network("n", driver="macvlan", parent="nosuchlan")'),
        [],
        "parent 'nosuchlan' is not a lan",
    ),
    (
        "real-nic-as-parent",
        _bridge(net='n = s.network("n", driver="macvlan", parent="eth0")'),
        [],
        "--backend docker --parent IFACE",
    ),
    (
        "parent-option-smuggled",
        _bridge(net='l = s.lan("l")\nn = s.network("n", driver="macvlan", parent=l, options={"parent": "eth0"})'),
        [],
        "option 'parent' is not supported",
    ),
    (
        "unchecked-docker-option",
        _bridge(net='n = s.network("n", options={"com.docker.network.bridge.inhibit_ipv4": "true"})'),
        [],
        "is not supported",
    ),
    (
        "docker0-as-bridge-name",
        _bridge(net='n = s.network("n", options={"com.docker.network.bridge.name": "docker0"})'),
        [],
        "not one of Docker's own bridges",
    ),
    ("unknown-driver", _bridge(net='n = s.network("n", driver="weave")'), [], "unknown driver 'weave'"),
    ("options-of-wrong-type", _bridge(net='n = s.network("n", options="icc")'), [], "options must be a dict"),
    ("subnet-of-wrong-type", _bridge(net='n = s.network("n", subnet=24)'), [], "subnet must be a string"),
    ("published-port-out-of-range", NET + 's.container("c", publish={70000: 80})\nSCENARIO = s', [], "70000"),
    ("expectation-to-nowhere", _bridge('s.expect("c", "ghost")'), [], "'ghost'"),
    ("bad-probe", _bridge('s.expect("c", "host", "tcp:99999")'), [], "tcp:99999"),
    ("shell-in-a-dns-name", _bridge('s.expect("c", "host", "dns:$(touch x)")'), [], "dns:$(touch x)"),
    (
        "missing-parent-nic",
        'SCENARIO = __import__("netlab").Scenario("x")',
        ["--backend", "docker", "--parent", "nosuch9"],
        "--parent nosuch9: no such network interface",
    ),
]


def _state_dir() -> set[str]:
    """Journals: what a run leaves for `netlab clean`. (Address leases are not compared: a lease is free
    again once its process is gone, whatever file is left.)"""
    base = Path(os.environ.get("NETLAB_STATE_DIR", "/run/netlab"))
    return {p.name for p in base.glob("*.journal")} if base.exists() else set()


@pytest.fixture
def host_route() -> Iterator[None]:
    """The host routes 198.18.251.0/24 itself (as a lab network or a VPN might)."""
    subprocess.run(["ip", "route", "add", "198.18.251.0/24", "dev", "lo"], check=True)
    try:
        yield
    finally:
        subprocess.run(["ip", "route", "del", "198.18.251.0/24", "dev", "lo"], check=True)


@pytest.mark.parametrize(("script", "argv", "says"), [c[1:] for c in CATALOGUE], ids=[c[0] for c in CATALOGUE])
def test_hostile_scenario_is_refused_in_one_line_creating_nothing(
    tmp_path: Path, request: pytest.FixtureRequest, script: str, argv: list[str], says: str
) -> None:
    if "198.18.251.0" in script:
        request.getfixturevalue("host_route")
    path = tmp_path / "hostile.py"
    path.write_text(HEAD + script + "\n")
    before, state = HostSnapshot.take(), _state_dir()
    proc = subprocess.run(
        ["netlab", "run", str(path), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=dict(os.environ, NETLAB_LOAD_TIMEOUT="1"),
    )
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("netlab: "), proc.stderr
    assert says in lines[0], lines[0]
    assert not (tmp_path / "x").exists()  # nothing the scenario's strings spelled was executed
    after = HostSnapshot.take()
    assert not before.diff(after), before.describe(after)
    assert _state_dir() == state
