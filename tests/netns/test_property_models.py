"""Property: any scenario model is either refused with a one-line message naming the problem, or the netns
backend deploys, probes and destroys it, leaving the host exactly as before.

Hypothesis draws models from the scenario API with names, subnets, drivers, parents, options, addresses,
published ports, expectations and stages mixing valid and hostile values. A model the validator lets
through must deploy: a DeployError (or any other exception) there is a validation gap. A kernel feature this
machine lacks (ipvlan) is a refusal too: `check` names it before anything is created."""

from __future__ import annotations

import os
from typing import Any

import hypothesis.strategies as st
from hostsnap import HostSnapshot
from hypothesis import HealthCheck, given, settings

from netlab.backends import registry
from netlab.errors import KernelFeatureMissing, ScenarioError
from netlab.model import InvalidScenario, Scenario
from netlab.runner import run_topology

HOSTILE = ["", "A", "a" * 16, "a-b", "é", "host", "bridge", "none", "docker_gwbridge", "1a", "a b", "a\n"]


def names(*valid: str) -> st.SearchStrategy[str]:
    """Mostly the kind's own valid names (so models connect), sometimes hostile ones or any text."""
    return st.integers(0, 99).flatmap(
        lambda roll: (
            st.sampled_from(valid) if roll < 94 else st.sampled_from(HOSTILE) if roll < 98 else st.text(max_size=17)
        )
    )


def rarely(common: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.integers(0, 99).flatmap(lambda roll: common if roll < 90 else odd)


NODES, LANS, PEERS = names("m1"), names("l1", "l2"), names("p1")
NETWORKS, CONTAINERS = names("n1", "n2", "n3"), names("c1", "c2", "c3", "c4")
REFS = st.sampled_from(["host", "m1", "l1", "l2", "p1", "n1", "n2", "n3", "c1", "c2", "c3", "c4"]) | names("zz")
SUBNETS = rarely(
    st.none(),
    st.sampled_from(
        [
            "198.18.40.0/24",
            "198.18.40.0/25",
            "198.18.41.0/24",
            "198.18.42.0/28",
            "198.18.42.0/30",
            "198.19.250.0/24",
            "198.19.63.0/24",  # the CI daemon's docker0: the host routes it
            "10.0.0.0/24",
            "198.18.40.1/24",
            "bogus",
            "::/0",
        ]
    ),
)
ADDRESSES = rarely(
    st.none(), st.sampled_from(["198.18.40.5", "198.18.41.9", "198.18.42.1", "198.18.40.0", "10.0.0.1", "x"])
)
DRIVERS = rarely(
    st.sampled_from(["bridge", "macvlan", "overlay"]), st.sampled_from(["host", "none", "ipvlan", "weave"])
)
OPTIONS = rarely(
    st.just({}),
    st.dictionaries(
        st.sampled_from(
            [
                "com.docker.network.bridge.enable_icc",
                "com.docker.network.bridge.enable_ip_masquerade",
                "com.docker.network.bridge.name",
                "macvlan_mode",
                "ipvlan_mode",
                "parent",
            ]
        ),
        st.sampled_from(["true", "false", "bridge", "private", "vepa", "passthru", "l2", "l3", "br_x", "docker0", "1"]),
        max_size=2,
    ),
)
PROBES = rarely(
    st.sampled_from(["icmp", "tcp:80", "udp:53", "dns:c1"]), st.sampled_from(["tcp:0", "http", "tcp:65536"])
)


@st.composite
def models(draw: Any) -> list[tuple[Any, ...]]:
    """A list of builder calls. The i-th object of a kind is mostly called by its own valid name and
    references mostly name objects declared before, so most models connect and many get deployed."""
    ops: list[tuple[Any, ...]] = []
    declared: dict[str, list[str]] = {"node": ["host"], "lan": [], "network": [], "container": [], "peer": []}

    def name(kind: str, prefix: str, i: int) -> str:
        got = draw(names(f"{prefix}{i + 1}"))
        declared[kind].append(got)
        return got

    def ref(*kinds: str) -> str:
        known = [n for k in kinds for n in declared[k]]
        return draw(rarely(st.sampled_from(known), REFS) if known else REFS)

    for i in range(draw(st.integers(0, 1))):
        ops.append(("node", name("node", "m", i)))
    for i in range(draw(st.integers(0, 2))):
        ops.append(("lan", name("lan", "l", i), draw(SUBNETS)))
    for i in range(draw(st.integers(0, 1))):
        ops.append(("peer", name("peer", "p", i), ref("lan"), draw(ADDRESSES)))
    for i in range(draw(st.integers(0, 3))):
        driver, subnet = draw(DRIVERS), draw(SUBNETS)
        parent = ref("lan") if driver in ("macvlan", "ipvlan") else draw(rarely(st.none(), REFS))
        ops.append(("network", name("network", "n", i), driver, subnet, parent, draw(OPTIONS), draw(st.booleans())))
    for i in range(draw(st.integers(0, 4))):
        nets = [ref("network") for _ in range(draw(st.integers(0, 2)))]
        if not nets and draw(st.booleans()):
            nets = [draw(st.sampled_from(["bridge", "host", "none"]))]
        publish = draw(
            rarely(
                st.none(),
                st.dictionaries(st.sampled_from([8080, 8081, 0, 70000]), st.sampled_from([80, 22]), max_size=1),
            )
        )
        node = draw(rarely(st.just("host"), st.just(ref("node"))))
        ops.append(("container", name("container", "c", i), nets, node, draw(ADDRESSES), publish))
    for _ in range(draw(st.integers(0, 3))):
        ops.append(
            (
                "expect",
                ref("node", "peer", "container"),
                ref("node", "peer", "container"),
                draw(PROBES),
                draw(st.booleans()),
            )
        )
    if draw(st.booleans()):
        ops.append(("stage", draw(names("later")), ref("container"), ref("network"), draw(ADDRESSES)))
    return ops


def _build(ops: list[tuple[Any, ...]]) -> Scenario:
    s = Scenario("prop")
    for op in ops:
        kind, args = op[0], op[1:]
        if kind == "node":
            s.node(*args)
        elif kind == "lan":
            s.lan(*args)
        elif kind == "peer":
            s.peer(args[0], args[1], address=args[2])
        elif kind == "network":
            name, driver, subnet, parent, options, internal = args
            s.network(name, driver=driver, subnet=subnet, parent=parent, options=options, internal=internal)
        elif kind == "container":
            name, nets, node, ip, publish = args
            s.container(name, *nets, node=node, ip=ip, publish=publish)
        elif kind == "expect":
            s.expect(args[0], args[1], args[2], reachable=args[3])
        elif kind == "stage":
            name, ctr, net, ip = args
            with s.stage(name) as stage:
                stage.connect(ctr, net, ip=ip)
    return s


def _refused(e: Exception) -> None:
    message = str(e)
    assert message and "\n" not in message, repr(message)


@settings(
    # the same models on every CI run; NETLAB_PROPERTY_SEARCH=1 explores new ones (NETLAB_PROPERTY_EXAMPLES=N)
    max_examples=int(os.environ.get("NETLAB_PROPERTY_EXAMPLES", "150")),
    derandomize=not os.environ.get("NETLAB_PROPERTY_SEARCH"),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(models())
def test_a_model_is_refused_with_a_message_or_deploys_and_destroys_cleanly(ops: list[tuple[Any, ...]]) -> None:
    try:
        topology = _build(ops).build()
        backend = registry.get("netns")
        backend.check(topology)
    except (InvalidScenario, KernelFeatureMissing) as e:
        _refused(e)
        return
    before = HostSnapshot.take()
    try:
        result = run_topology(topology, backend, timeout=0.2)
    except ScenarioError as e:  # refused before deploying (a subnet the host routes)
        _refused(e)
        result = None
    after = HostSnapshot.take()
    assert not before.diff(after), before.describe(after)
    if result is not None:
        assert len(result.observations) >= len(topology.stages[0].expectations)
