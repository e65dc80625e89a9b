"""Docker's rules' prediction (netlab/predict.py) against what the scenarios state, and how a difference is shown.

The bundled scenarios' expectations were each measured on real Docker 20.10 and on the netns backend's 20.10, 28
and 29 profiles under both FORWARD policies (tests/docker/test_parity.py, tests/netns/test_engines.py); the
predictor, which reads none of them, must give the same answer for every one of them under every such host, and
predict every other cell of their matrices too (the acceptance tiers check those against measurements)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shared_scenarios import loopback_publish, proxy, published6, sidecar, two_subnet_macvlan

from netlab import Scenario, compose, loader, predict
from netlab.backends.fake import FakeBackend
from netlab.cli.run import predicted_argv
from netlab.model import conditions, matrixfile
from netlab.model.results import Outcome
from netlab.model.topology import Topology
from netlab.report import console
from netlab.runner import run_topology
from netlab.verdict import find

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "compose"
HOSTS = [
    {"engine": engine, "forward_policy": policy, "userland_proxy": proxy, "ip6tables": six}
    for engine in ("20.10.24", "28.5.2", "29.0.0")
    for policy in ("DROP", "ACCEPT")
    for proxy in ("on", "off")
    for six in ("on", "off")  # dockerd --ip6tables: 20.10 with --experimental, 27 and later by default
]


def _disagreements(t: Topology) -> list[str]:
    """Every expectation of `t` whose predicted answer differs under some host, or that is not predicted."""
    r = run_topology(t, FakeBackend(node_gateways=True))
    cells = {
        (c.stage, c.src, c.dst, str(c.probe), c.address): c for c in predict.predict(t, r.endpoints, r.observations)
    }
    out = []
    for stage in t.stages:
        for e in stage.expectations:
            o = find(r.observations, e)
            assert o is not None
            cell = cells[(o.stage, o.src, o.dst, str(o.probe), o.address)]
            if cell.variants is None:
                out.append(f"{stage.name} {e.src}->{e.dst} {e.probe}: not predicted ({cell.reason})")
                continue
            for host in HOSTS:
                if conditions.holds(e.when, host) is not True:
                    continue
                apply = [v for v in cell.variants if conditions.holds(v[0], host)]
                if [v[1] for v in apply] != [e.reachable]:
                    out.append(f"{stage.name} {e.src}->{e.dst} {e.probe} on {host}: {e.reachable} vs {apply}")
    return out


@pytest.mark.parametrize("name", [info.name for info in loader.bundled()])
def test_the_rules_predict_every_bundled_expectation_on_every_host(name: str) -> None:
    t = loader.load(name)
    assert _disagreements(t) == []
    r = run_topology(t, FakeBackend(node_gateways=True))
    assert not [c for c in predict.predict(t, r.endpoints, r.observations) if c.variants is None]


@pytest.mark.parametrize("make", [proxy, two_subnet_macvlan, sidecar, loopback_publish, published6])
def test_the_rules_predict_the_shared_scenarios(make: Any) -> None:
    """The scenarios both acceptance tiers run (docker-proxy or hairpin NAT, two subnets, container:X, a port
    published on one host address)."""
    assert _disagreements(make().build()) == []


@pytest.mark.parametrize("example", ["three-tier", "exercise4", "macvlan", "sidecar", "overlay"])
def test_the_rules_predict_the_compose_examples_matrices(example: str) -> None:
    t = compose.load(EXAMPLES / f"{example}.yml").scenario.build()
    t = matrixfile.apply(t, loader.load_matrix(str(EXAMPLES / f"{example}.matrix")), example)
    assert _disagreements(t) == []


def _fake_run(s: Scenario, decide: Any = None) -> Any:
    backend = FakeBackend(node_gateways=True) if decide is None else FakeBackend(decide, node_gateways=True)
    return run_topology(s.build(), backend)


def _cell(result: Any, src: str, dst: str, probe: str = "icmp") -> predict.Cell:
    cells = predict.predict(result.topology, result.endpoints, result.observations)
    return next(c for c in cells if (c.src, c.dst, str(c.probe)) == (src, dst, probe))


def test_icc_off_closes_the_bridge_but_not_the_published_port_through_the_host() -> None:
    s = Scenario("t")
    net = s.network("n", options={"com.docker.network.bridge.enable_icc": "false"})
    other = s.network("o")
    s.container("web", net, publish={8080: 80})
    s.container("app", net)
    s.container("far", other)
    s.measure("app", "web", "tcp:80")
    s.measure("app", "host", "tcp:8080")
    s.measure("far", "host", "tcp:8080")
    r = _fake_run(s)
    direct = _cell(r, "app", "web", "tcp:80")
    assert direct.variants is not None and direct.variants[0][1] is False and "icc" in direct.variants[0][2]
    hairpin = _cell(r, "app", "host", "tcp:8080")
    assert hairpin.variants is not None and hairpin.variants[0][1] is True and "docker-proxy" in hairpin.variants[0][2]
    # from another bridge: docker-proxy relays it (20.10, 28), hairpin NAT forwards it into isolation; 29 lets it
    across = _cell(r, "far", "host", "tcp:8080")
    assert across.variants is not None
    assert {v[0]: v[1] for v in across.variants} == {
        (("engine", "<29"), ("userland_proxy", "on")): True,
        (("engine", "<29"), ("userland_proxy", "off")): False,
        (("engine", ">=29"),): True,
    }


def test_macvlan_modes_and_what_is_left_unpredicted() -> None:
    s = Scenario("t")
    lan = s.lan("lan0")
    vepa = s.network("v", driver="macvlan", parent=lan, options={"macvlan_mode": "vepa"})
    s.container("a", vepa)
    s.container("b", vepa)
    r = _fake_run(s)
    cell = _cell(r, "a", "b")
    assert cell.variants is not None and cell.variants[0][1] is False and "hairpin" in cell.variants[0][2]
    # the default gateway of a macvlan network is an address nobody on the lan holds: nothing off the lan
    s2 = Scenario("t2")
    lan2 = s2.lan("lan0")
    s2.container("a", s2.network("m", driver="macvlan", parent=lan2))
    s2.container("c", s2.network("n"))
    gone = _cell(_fake_run(s2), "a", "c")
    assert gone.variants is not None and gone.variants[0][1] is False and "nobody there holds" in gone.variants[0][2]
    # a peer on the very subnet of an ipvlan L3 child (no ARP in L3 mode): the rules do not say; neither do they guess
    s3 = Scenario("t3")
    lan3 = s3.lan("lan0", subnet="198.18.40.0/24")
    s3.peer("ext", lan3)
    s3.container("a", s3.network("l3", driver="ipvlan", parent=lan3, options={"ipvlan_mode": "l3"}))
    unknown = _cell(_fake_run(s3), "ext", "a")
    assert unknown.variants is None and "ipvlan L3" in unknown.reason


def test_the_embedded_dns_answers_a_scanned_container_by_its_docker_name_not_its_table_name() -> None:
    from dataclasses import replace

    s = Scenario("t")
    net = s.network("n")
    s.container("api", net)
    s.container("web", net)
    s.measure("web", "api", "dns:api")
    s.measure("web", "api", "dns:shop_api_1")
    t = s.build()
    renamed = tuple(replace(c, docker_name=f"shop_{c.name}_1") for c in t.containers)
    r = run_topology(replace(t, containers=renamed), FakeBackend(node_gateways=True))
    assert _cell(r, "web", "api", "dns:shop_api_1").variants[0][1] is True  # type: ignore[index]
    assert _cell(r, "web", "api", "dns:api").variants[0][1] is False  # type: ignore[index]


def test_a_difference_is_shown_with_the_rule_and_what_was_measured() -> None:
    s = Scenario("t")
    s.container("a", s.network("x"))
    s.container("b", s.network("y"))
    s.measure("a", "b", "tcp:80")

    def everything_open(src: Any, dst: Any, probe: Any) -> Outcome:
        return Outcome.REACHABLE

    r = _fake_run(s, everything_open)
    p = r.predicted()
    wrong = {(c.expectation.src, c.expectation.dst, str(c.expectation.probe)) for c in p.verdict.checks if not c.ok}
    assert wrong == {("a", "b", "icmp"), ("b", "a", "icmp"), ("a", "b", "tcp:80")}  # two bridges are isolated
    text = console.prediction_lines_text(r)
    assert "DIFFERS a -> b" in text and "Docker's rule: b is on another bridge network (y): DOCKER-ISOLATION" in text
    with pytest.raises(AssertionError, match="DIFFERS"):
        r.check_predicted()
    data = r.to_json()["prediction"]
    assert data["ok"] is False and data["summary"]["not"] == p.verdict.wrong
    assert {d["rule"] for d in data["differences"]} >= {"b is on another bridge network (y): DOCKER-ISOLATION drops it"}


def test_check_predicted_is_written_as_check_with_a_value() -> None:
    assert predicted_argv(["compose", "f.yml", "--check", "predicted"]) == [
        "compose",
        "f.yml",
        "--check",
        "--check-predicted",
    ]
    assert predicted_argv(["scan", "--check=predicted", "-p", "x"]) == [
        "scan",
        "--check",
        "--check-predicted",
        "-p",
        "x",
    ]
    assert predicted_argv(["run", "bridge", "--check", "--json", "f"]) == ["run", "bridge", "--check", "--json", "f"]


def test_a_network_without_a_parent_is_an_island() -> None:
    s = Scenario("t")
    island = s.network("island", driver="macvlan")
    s.container("a", island)
    s.container("b", island)
    s.container("c", s.network("n"))
    r = _fake_run(s)
    assert _cell(r, "a", "b").variants[0][1] is True  # type: ignore[index]
    for src, dst in (("host", "a"), ("c", "a"), ("a", "c"), ("a", "host")):
        cell = _cell(r, src, dst)
        assert cell.variants is not None and cell.variants[0][1] is False, (src, dst, cell)


def test_declared_sockets_decide_tcp_cells_in_a_shared_namespace() -> None:
    """Host mode (issue 19, item 2): the first container of a namespace to declare a port holds it, a container
    declaring sockets answers on those only, a host-network container's published port is discarded."""
    s = Scenario("t")
    lan = s.lan("lan")
    s.peer("ext", lan)
    s.container("h1", "host", listen=["tcp:8081"], publish={9000: 9000})
    s.container("h2", "host", listen=["tcp:8081", "tcp:8082"])
    for probe in ("tcp:8081", "tcp:8082", "tcp:9000", "tcp:7000"):
        s.measure("ext", "h2", probe)
    s.measure("ext", "h1", "tcp:9000")
    r = _fake_run(s)
    said = {p: _cell(r, "ext", "h2", p).variants for p in ("tcp:8081", "tcp:8082", "tcp:7000")}
    assert all(v is not None and [x[1] for x in v] == [True] for p, v in said.items() if p != "tcp:7000"), said
    closed = said["tcp:7000"]
    assert closed is not None and closed[0][1] is False and "listens on tcp:8081, tcp:8082 only" in closed[0][2]
    discarded = _cell(r, "ext", "h1", "tcp:9000").variants
    assert discarded is not None and discarded[0][1] is False and "discarded" in discarded[0][2]


def test_a_published_port_is_answered_by_the_container_it_lands_in() -> None:
    s = Scenario("t")
    net = s.network("n")
    s.container("web", net, publish={8080: 80}, listen=["tcp:80"])
    s.container("app", s.network("o"))
    s.measure("app", "host", "tcp:8080")
    s.measure("app", "host", "tcp:8081")
    r = _fake_run(s)
    open_ = _cell(r, "app", "host", "tcp:8080").variants
    assert open_ is not None and True in [v[1] for v in open_]
