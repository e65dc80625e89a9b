"""Every bundled scenario on the real Docker Engine, and the same observations as the netns backend; nothing of either
run leaves the machine (its real uplink is captured meanwhile)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from uplinkcap import UplinkCapture

from netlab import loader
from netlab.backends.base import Deployment
from netlab.kernel import features
from netlab.model.results import Observation
from netlab.runner import Result, run_scenario, run_topology

SINGLE_NODE = [
    "bridge",
    "bridge_icc",
    "bridge_internal",
    "bridge_nonat",
    "bridge_ipv6",
    "host",
    "none",
    "macvlan",
    "macvlan_private",
]
NEEDS_IPVLAN = ["ipvlan", "ipvlan_l2"]
#: 802.1Q VLANs: this kernel has no 8021q (tests/docker/test_vlan_docker.py checks the exit 3)
NEEDS_8021Q = ["macvlan_vlan"]


def _rules(tree: Any) -> Iterator[str]:
    if isinstance(tree, dict):
        for v in tree.values():
            yield from _rules(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from _rules(v)
    elif isinstance(tree, str):
        yield tree


def firewall(result: Result) -> Any:
    """The firewall evidence with each bridge's name (Docker's br-<network id>, netns's derived id) replaced
    by its scenario network, recognised by the subnet its rules mention (else numbered by first mention)."""
    subnets = {str(n.subnet): n.name for n in result.topology.networks if n.subnet and not n.predefined}
    names: dict[str, str] = {}
    for rule in _rules(result.evidence["firewall"]):
        for br in re.findall(r"br-[0-9a-f]{12}", rule):
            for subnet, name in subnets.items():
                if f" {subnet} " in f" {rule} ".replace("/32", "/32 "):
                    names.setdefault(br, name)
    text = json.dumps(result.evidence["firewall"], sort_keys=True)
    for br in re.findall(r"br-[0-9a-f]{12}", text):  # no subnet in its rules (masquerade off): by first mention
        names.setdefault(br, f"bridge {len(names)}")
    for br, name in names.items():
        text = text.replace(br, f"<{name}>")
    # docker_gwbridge's subnet is Docker's own pick from its pool (netlab's allocator on the netns backend)
    text = re.sub(r"-s [0-9./]+ ! -o docker_gwbridge", "-s <docker_gwbridge subnet> ! -o docker_gwbridge", text)
    return json.loads(text)


def container_rules(result: Result) -> Any:
    """The rules inside containers' own namespaces (Docker's embedded DNS) with the resolver's ports, which
    the kernel picks at random, blanked."""
    text = json.dumps(result.evidence["container_firewall"], sort_keys=True)
    text = re.sub(r"127\.0\.0\.11:\d+", "127.0.0.11:<port>", text)
    return json.loads(re.sub(r"--sport \d+", "--sport <port>", text))


def container_routes(result: Result) -> dict[tuple[str, str], list[str]]:
    """Routes of the containers whose networks are all the scenario's own (the default bridge's subnet is
    the daemon's on a daemon netlab did not start), per stage."""
    t = result.topology
    own = {
        c.name
        for c in t.containers
        if c.attachments and all(not t.network(a.network).predefined for a in c.attachments)
    }
    return {
        (stage, name): found["routes"]
        for stage, eps in result.evidence["routes"].items()
        for name, found in eps.items()
        if name in own
    }


_IP = re.compile(r"\b\d+\.\d+\.\d+\.\d+\b")
_MAC = re.compile(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")


def captures(result: Result) -> Any:
    """What each capture point proved per stage, with addresses replaced by the endpoints holding them
    (Docker numbers its default bridge itself), MACs by their kind (Docker's 02:42 or a kernel's random
    one) and packet counts left out (an ARP refresh more or less is timing, not behaviour)."""
    owner: dict[str, str] = {}
    for ep in result.endpoints.values():
        for a in ep.addresses:
            owner.setdefault(str(a.address), ep.name)

    def plain(text: str) -> str:
        text = _IP.sub(lambda m: owner.get(m.group(0), "?"), text)
        return _MAC.sub(lambda m: "02:42:*" if m.group(0).startswith("02:42:") else "random-mac", text)

    return {
        f"{c['stage']}/{c['point']}": {
            kind: sorted(plain(f"{a}={m}" if kind == "macs" else a) for a, m in found.items())
            for kind, found in c["facts"].items()
        }
        for c in result.evidence["captures"]
    }


def matrix(result: Result) -> dict[tuple[str, str, str, str], str]:
    return {(o.stage, o.src, o.dst, str(o.probe)): o.outcome.value for o in result.observations}


@pytest.mark.parametrize("name", SINGLE_NODE)
def test_docker_and_netns_agree_cell_for_cell(
    name: str, host_and_docker_unchanged: None, nothing_off_machine: UplinkCapture
) -> None:
    docker = run_scenario(name, backend="docker")
    netns = run_scenario(name, backend="netns")
    assert docker.verdict.ok, [
        (c.expectation.src, c.expectation.dst, str(c.expectation.probe), c.observed.value, c.observation.detail)
        for c in docker.verdict.checks
        if not c.ok and c.observation
    ]
    a, b = matrix(docker), matrix(netns)
    assert a.keys() == b.keys()
    differ = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    assert not differ, f"docker vs netns differ in {len(differ)} cells: {differ}"
    assert not docker.check_predicted().unpredicted  # real Docker's whole matrix is what its rules predict
    # the rules Docker wrote for the scenario, and the ones the netns backend renders, rule for rule
    assert firewall(docker) == firewall(netns)
    assert container_rules(docker) == container_rules(netns)
    assert container_routes(docker) == container_routes(netns)
    assert captures(docker) == captures(netns)


MULTI_NODE = ["overlay"]


@pytest.mark.parametrize("name", MULTI_NODE)
def test_swarm_of_private_daemons_agrees_with_netns(
    name: str, host_and_docker_unchanged: None, nothing_off_machine: UplinkCapture
) -> None:
    """Several nodes: a private dockerd per node namespace, joined into a swarm; VXLAN on the underlay."""
    docker = run_scenario(name, backend="docker")
    netns = run_scenario(name, backend="netns")
    assert docker.verdict.ok, docker.verdict.summary()
    a, b = matrix(docker), matrix(netns)
    differ = {k: (a[k], b[k]) for k in a if a.get(k) != b.get(k)}
    assert a.keys() == b.keys() and not differ, differ
    assert not docker.check_predicted().unpredicted
    assert firewall(docker) == firewall(netns)  # per node: docker_gwbridge's rules, nothing for the overlay itself
    assert container_rules(docker) == container_rules(netns)
    # VXLAN with the same VNI and inner addresses on the underlay (ARP differs: the swarm's own traffic
    # has taught the nodes each other's MACs before any probe)
    vxlan = {k: v.get("vxlan") for k, v in captures(docker).items()}
    assert vxlan == {k: v.get("vxlan") for k, v in captures(netns).items()}
    assert vxlan["initial/underlay"]
    assert not subprocess.run(["pgrep", "-f", "dockerd .*--exec-root /run/nl/"], capture_output=True).stdout


def test_every_bundled_scenario_is_covered() -> None:
    names = {i.name for i in loader.bundled()}
    assert names == set(SINGLE_NODE) | set(MULTI_NODE) | set(NEEDS_IPVLAN) | set(NEEDS_8021Q)


def test_objects_are_labelled_with_the_run_and_removed_afterwards(host_and_docker_unchanged: None) -> None:
    seen: dict[str, str] = {}

    def grab(dep: Deployment, index: int, obs: list[Observation]) -> None:
        for kind in ("ps", "network"):
            argv = [
                "docker",
                kind,
                "ls" if kind == "network" else "-a",
                "-q",
                "--filter",
                f"label=netlab.run={dep.run}",
            ]
            if kind == "ps":
                argv = ["docker", "ps", "-a", "-q", "--filter", f"label=netlab.run={dep.run}"]
            seen[kind] = subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    result = run_topology(loader.load("bridge"), backend="docker", on_stage=grab)
    assert result.ok
    assert len(seen["ps"].split()) == 4  # web, app, db, legacy
    assert len(seen["network"].split()) == 2  # front, back


def test_ipvlan_on_docker_without_kernel_support_says_so_with_exit_3() -> None:
    if features.link_kinds().get("ipvlan") == "":
        pytest.skip("this kernel has ipvlan; the docker ipvlan driver works here")
    proc = subprocess.run(["netlab", "run", "ipvlan", "--backend", "docker"], capture_output=True, text=True)
    assert proc.returncode == 3
    assert "Docker's ipvlan driver cannot work on this kernel" in proc.stderr
    assert "--backend netns --kernel uml" in proc.stderr


def test_probe_image_is_built_locally_without_a_registry() -> None:
    proc = subprocess.run(["netlab", "image"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("netlab/probe:latest")


def test_run_bridge_on_docker_exits_zero() -> None:
    proc = subprocess.run(["netlab", "run", "bridge", "--backend", "docker"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "backend: docker" in proc.stdout
