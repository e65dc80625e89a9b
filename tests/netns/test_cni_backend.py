"""`--backend cni`: the bundled bridge, macvlan and ipvlan scenarios with their networks made by the distribution's
CNI reference plugins (ipvlan and a bridge in user-mode Linux too), measured with real packets. Where CNI's
behaviour is not Docker's, the run says so cell by cell (the scenario states Docker's): two bridge networks are not
isolated, no container resolves names; where it is the same (a macvlan child unreachable from its host, published
ports, masquerade) the cells agree."""

from __future__ import annotations

import json
import os
import re
import subprocess
from importlib import resources

import jsonschema
from hostsnap import HostSnapshot

from netlab import loader
from netlab.backends.journal import JOURNAL_DIR
from netlab.model import conditions
from netlab.model.results import Outcome
from netlab.report import explain
from netlab.report import json as json_report
from netlab.runner import run_scenario


def _cells(result: object) -> dict[tuple[str, str, str, str], Outcome]:
    return {(o.stage, o.src, o.dst, str(o.probe)): o.outcome for o in result.observations}  # type: ignore[attr-defined]


def test_bridge_on_cni_measures_where_cni_differs_from_docker(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("bridge", backend="cni")
    cells = _cells(r)
    assert r.environment["engine"].startswith("cni: the CNI reference plugins in ")
    assert r.environment["cni_networks"]["front"] == [
        "bridge",
        "portmap",
        "firewall",
        "host-local",
    ]  # each network's chain
    # `netlab explain bridge --backend cni` told the same chains before anything ran
    told = re.findall(
        r"^  network (\S+): (.+), IPAM (\S+)$", explain.render(loader.load("bridge"), backend="cni"), re.M
    )
    assert {name: [*chain.split(" + "), ipam] for name, chain, ipam in told} == r.environment["cni_networks"]
    # as on Docker: one network's containers reach each other, a published port answers through the host
    assert cells[("initial", "web", "app", "icmp")] is Outcome.REACHABLE
    assert cells[("initial", "ext", "host", "tcp:8080")] is Outcome.REACHABLE
    # not as on Docker: the bridge plugin writes no isolation between bridges, and no plugin gives a resolver
    assert cells[("initial", "web", "db", "icmp")] is Outcome.REACHABLE
    wrong = {(c.expectation.src, c.expectation.dst, str(c.expectation.probe)) for c in r.verdict.checks if not c.ok}
    assert ("web", "db", "icmp") in wrong and ("app", "web", "dns:web") in wrong
    dns = next(o for o in r.observations if o.src == "app" and str(o.probe) == "dns:web")
    assert "no resolver" in dns.detail
    # what the scenario says per Docker release does not apply to CNI: listed, judged nowhere, in the JSON too
    assert {conditions.text(e.when) for e in r.verdict.docker_only} >= {"engine>=28", "engine<28"}
    assert not any(c.undecided for c in r.verdict.checks)
    doc = json_report.result_to_json(r)
    jsonschema.validate(doc, json.loads(resources.files("netlab.report").joinpath("schema1.json").read_text()))
    assert {(x["src"], x["dst"], x["probe"], tuple(sorted(x["when"].items()))) for x in doc["docker_only"]} >= {
        ("ext", "web", "icmp", (("engine", "<28"), ("forward_policy", "DROP"))),
        ("ext", "app", "tcp:80", (("engine", ">=28"),)),
    }
    # the evidence is what the plugins wrote in the node: ipMasq's chains, portmap's DNAT
    added = str(r.evidence["firewall"]["initial"])
    assert "CNI-HOSTPORT-DNAT" in added and "CNI-DN-" in added
    assert not [f for f in os.listdir(JOURNAL_DIR) if f.endswith(".cni")]  # the run's lease directory is gone


def test_macvlan_on_cni_agrees_with_docker_cell_for_cell(host_unchanged: HostSnapshot) -> None:
    r = run_scenario("macvlan", backend="cni")
    assert r.verdict.ok, r.verdict.summary()
    assert _cells(r)[("initial", "host", "c1", "icmp")] is Outcome.UNREACHABLE  # the host cannot reach its child


def test_a_kept_run_is_deleted_plugin_by_plugin_by_netlab_clean(host_unchanged: HostSnapshot) -> None:
    kept = subprocess.run(["netlab", "run", "bridge", "--backend", "cni", "--keep"], capture_output=True, text=True)
    assert kept.returncode in (0, 1), kept.stderr  # 1: the cells where CNI is not Docker
    clean = subprocess.run(["netlab", "clean"], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert "cni web/front" in clean.stdout and ".cni" in clean.stdout, clean.stdout


def test_a_network_cni_cannot_express_stops_with_exit_3_before_anything_is_made(
    host_unchanged: HostSnapshot,
) -> None:
    proc = subprocess.run(["netlab", "run", "overlay", "--backend", "cni"], capture_output=True, text=True)
    assert proc.returncode == 3
    assert "network 'ov' cannot run on the cni backend: the overlay driver" in proc.stderr


def test_ipvlan_on_cni_runs_in_user_mode_linux_across_two_subnets(host_unchanged: HostSnapshot) -> None:
    """The ipvlan plugin in L3 mode, its two subnets one host-local range set, inside user-mode Linux (this
    machine's kernel has no ipvlan): the plugins ran there, their iptables being iptables-legacy."""
    r = run_scenario("ipvlan", backend="cni", kernel="uml")
    assert r.environment["kernel_runner"] == "uml"
    assert r.environment["cni_networks"] == {"l3": ["ipvlan", "host-local"]}
    cells = _cells(r)
    assert cells[("initial", "c1", "c3", "icmp")] is Outcome.REACHABLE  # across subnets, one parent
    assert cells[("initial", "host", "c1", "icmp")] is Outcome.UNREACHABLE  # the parent's host cannot
    assert cells[("route", "ext", "c3", "icmp")] is Outcome.REACHABLE  # with the lan's static route
    routes = str(r.evidence["routes"])
    assert "default via 198.18.211.1" in routes  # host-local's gateway, where Docker's L3 route names none


def test_a_bridge_on_cni_in_user_mode_linux_gets_its_rules_from_the_plugins_iptables_legacy(
    host_unchanged: HostSnapshot,
) -> None:
    """In the guest `iptables` is iptables-legacy (its nf_tables has no nat chain type): ipMasq's, portmap's and the
    firewall plugin's rules land there, and the cells are those of the host kernel's run."""
    r = run_scenario("bridge", backend="cni", kernel="uml")
    assert r.environment["kernel_runner"] == "uml"
    assert r.environment["firewall"] == "iptables-legacy"
    added = str(r.evidence["firewall"]["initial"])
    assert "CNI-HOSTPORT-DNAT" in added and "CNI-FORWARD" in added, added
    assert _cells(r) == _cells(run_scenario("bridge", backend="cni"))
