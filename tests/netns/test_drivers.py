"""macvlan, ipvlan and overlay on the netns backend; kernel features; user-mode Linux."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from hostsnap import HostSnapshot
from shared_scenarios import two_subnet_macvlan
from uplinkcap import UplinkCapture

from netlab import loader, nsthread
from netlab.backends import naming
from netlab.backends.base import Deployment
from netlab.backends.netns.links import mac_from_ip
from netlab.kernel import features, uml
from netlab.model.results import Observation
from netlab.runner import run_topology

HAS_IPVLAN = features.link_kinds().get("ipvlan") == ""


def _neighbours(dep: Deployment, endpoint: str) -> dict[str, str]:
    path = dep.endpoints[endpoint].netns
    assert path is not None
    out = nsthread.run(path, ["ip", "-j", "neigh", "show"])
    return {n["dst"]: n.get("lladdr", "") for n in json.loads(out or "[]")}


def test_macvlan_children_show_their_own_macs_to_the_lan_peer() -> None:
    seen: dict[str, dict[str, str]] = {}

    def grab(dep: Deployment, index: int, obs: list[Observation]) -> None:
        if index == 0:
            seen["ext"] = _neighbours(dep, "ext")

    topo = loader.load("macvlan")
    result = run_topology(topo, backend="netns", on_stage=grab)
    assert result.ok
    c1 = topo.container("c1").attachments[0].address
    c2 = topo.container("c2").attachments[0].address
    assert c1 is not None and c2 is not None
    assert seen["ext"][str(c1)] == mac_from_ip(c1)
    assert seen["ext"][str(c2)] == mac_from_ip(c2)
    assert mac_from_ip(c1) != mac_from_ip(c2)


def test_macvlan_host_cannot_reach_child_via_parent_until_shim() -> None:
    result = run_topology(loader.load("macvlan"), backend="netns")
    cells = {(o.stage, o.src, o.dst): o.outcome.value for o in result.observations if str(o.probe) == "icmp"}
    assert cells[("initial", "host", "c1")] == "unreachable"
    assert cells[("initial", "ext", "c1")] == "reachable"
    assert cells[("shim", "host", "c1")] == "reachable"


def test_overlay_programs_static_vxlan_forwarding_to_the_other_node() -> None:
    seen: dict[str, str] = {}

    def grab(dep: Deployment, index: int, obs: list[Observation]) -> None:
        sandbox = dep.state["netns"].ns[naming.sandbox("host", "ov")]  # type: ignore[attr-defined]
        seen["fdb"] = nsthread.run(sandbox, ["bridge", "fdb", "show", "dev", "vxlan0"])
        seen["link"] = nsthread.run(sandbox, ["ip", "-d", "link", "show", "vxlan0"])

    topo = loader.load("overlay")
    result = run_topology(topo, backend="netns", on_stage=grab)
    assert result.ok, result.verdict.summary()
    b = topo.container("b").attachments[0].address
    node2 = topo.uplink("node2", "underlay")
    assert b is not None and node2 is not None
    entry = rf"^{mac_from_ip(b)} dst {node2.address} (link-netnsid \d+ )?self permanent$"
    assert re.search(entry, seen["fdb"], re.M), seen["fdb"]
    assert "vxlan id 4097" in seen["link"] and "dstport 4789" in seen["link"]


def test_ipvlan_on_this_kernel_passes_or_stops_with_exit_3_and_the_way_out() -> None:
    proc = subprocess.run(["netlab", "run", "ipvlan"], capture_output=True, text=True, timeout=120)
    if HAS_IPVLAN:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:
        assert proc.returncode == 3
        assert "ipvlan" in proc.stderr and "--kernel uml" in proc.stderr
        assert proc.stderr.count("\n") == 1, "one clear message, no traceback"


def test_missing_feature_creates_nothing() -> None:
    if HAS_IPVLAN:
        pytest.skip("this kernel has ipvlan: the missing-feature path cannot be reached here")
    before = HostSnapshot.take()
    subprocess.run(["netlab", "run", "ipvlan_l2"], capture_output=True, text=True, timeout=120)
    assert HostSnapshot.take().diff(before) == []
    assert not list(Path("/run/netlab").glob("*.journal")) or all(
        "ipvlan" not in p.read_text() for p in Path("/run/netlab").glob("*.journal")
    )


@pytest.mark.parametrize(("name", "engine"), [("ipvlan", None), ("ipvlan_l2", "29"), ("macvlan_vlan", "28")])
def test_ipvlan_scenarios_pass_in_user_mode_linux(
    name: str, engine: str | None, tmp_path: Path, nothing_off_machine: UplinkCapture
) -> None:
    """Under each of Docker's iptables profiles (20.10 by default; 28 and 29 need the guest's raw table and
    ip6tables modules)."""
    missing = uml.available()
    assert not missing, f"tests/run.sh installs user-mode Linux: {missing}"
    before = HostSnapshot.take()
    out = tmp_path / "r.json"
    proc = subprocess.run(
        ["netlab", "run", name, "--kernel", "uml", "--json", str(out), *(["--engine", engine] if engine else [])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert data["environment"]["kernel_runner"] == "uml"
    assert data["environment"]["engine_version"].startswith(f"{engine or '20.10'}.")
    assert data["ok"] is True
    # the guest's whole matrix, as Docker's rules predict it (judged on the host from the guest's JSON)
    assert data["prediction"]["ok"] is True and data["prediction"]["summary"]["not_predicted"] == 0
    assert "in user-mode Linux" in proc.stdout
    assert HostSnapshot.take().diff(before) == []
    assert not list(Path("/tmp").glob("netlab-uml-*")), "the guest's scratch directory is removed"


def test_doctor_names_the_cni_plugins_and_podman_tests_run_sh_installs() -> None:
    proc = subprocess.run(["netlab", "doctor"], capture_output=True, text=True, timeout=60)
    rows = {ln.split("  ")[0].strip(): ln for ln in proc.stdout.splitlines()}
    assert "yes" in rows["CNI plugins"] and "ipvlan" in rows["CNI plugins"], proc.stdout
    assert re.search(r"yes\s+Podman 4\.\d", rows["podman"]), proc.stdout


def test_doctor_tells_the_truth_about_link_kinds() -> None:
    proc = subprocess.run(["netlab", "doctor"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("link kind ipvlan"))
    assert ("yes" in line) == HAS_IPVLAN
    for kind in ("bridge", "veth", "macvlan", "vxlan"):
        row = next(ln for ln in proc.stdout.splitlines() if ln.startswith(f"link kind {kind}"))
        assert ("yes" in row) == (features.link_kinds()[kind] == "")


def test_a_macvlan_network_with_two_subnets_routes_each_container_by_its_own_subnet(
    host_unchanged: HostSnapshot,
) -> None:
    seen: dict[str, str] = {}

    def grab(dep: Deployment, index: int, obs: list[Observation]) -> None:
        for name in ("a", "b"):
            netns = dep.endpoints[name].netns
            assert netns is not None
            seen[name] = nsthread.run(netns, ["ip", "-4", "route"]) + nsthread.run(netns, ["ip", "-4", "addr"])

    r = run_topology(two_subnet_macvlan().build(), backend="netns", on_stage=grab)
    assert r.ok, r.verdict.summary()
    assert "default via 198.18.40.1" in seen["a"]
    assert "default via 198.18.41.1" in seen["b"] and "198.18.41.10/24" in seen["b"]


def test_the_trunk_s_capture_names_each_vlan_s_senders(tmp_path: Path) -> None:
    """macvlan_vlan in user-mode Linux (8021q): VLAN 50's containers and peer on VID 50, VLAN 60's on VID 60, the
    router on both; once it routes, the routed packets carry the other VLAN's tag (a's address on VID 60)."""
    out = tmp_path / "r.json"
    proc = subprocess.run(
        ["netlab", "run", "macvlan_vlan", "--kernel", "uml", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())

    def senders(stage: str) -> dict[str, set[str]]:
        trunk = next(c for c in data["evidence"]["captures"] if c["point"] == "lan0" and c["stage"] == stage)
        return {vid: {s.split(" (")[-1].rstrip(")") for s in found} for vid, found in trunk["facts"]["vlans"].items()}

    assert senders("initial") == {"VID 50": {"a", "b", "p50", "r"}, "VID 60": {"c", "p60", "r"}}
    assert "a" in senders("routed")["VID 60"] and "c" in senders("routed")["VID 50"]
    assert "802.1Q VID 50: " in proc.stdout
    claim = next(c for c in data["claims"] if c["id"] == "macvlan.vlan")  # the lecture's driver list, in Russian
    assert claim["held"] is True and claim["english"].startswith("This driver gives containers direct access")
