"""Container options of the scenario API: `network_mode` of another container (what the builder accepts and refuses,
and the endpoint a backend gives the sidecar: the fake backend here, real namespaces and Docker in
tests/docker/test_sidecar_docker.py) and fixed addresses on several networks."""

from __future__ import annotations

import pytest
from shared_scenarios import sidecar

from netlab import Scenario
from netlab.model.errors import InvalidScenario
from netlab.runner import run_scenario


def test_the_sidecar_has_no_attachments_and_names_its_target() -> None:
    t = sidecar().build()
    side = t.container("side")
    assert (side.attachments, side.joins) == ((), "web")
    assert "side" in t.endpoint_names()


def test_on_a_backend_the_sidecar_is_its_target_s_namespace() -> None:
    result = run_scenario(sidecar(), backend="fake")
    assert result.endpoints["side"].netns == result.endpoints["web"].netns
    assert result.endpoints["side"].addresses == result.endpoints["web"].addresses


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s: (s.container("side", network_mode="web"), s.container("web")), "declare that container before"),
        (lambda s: s.container("side", network_mode="nobody"), "no such container"),
        (
            lambda s: (s.container("web"), s.container("a", network_mode="web"), s.container("b", network_mode="a")),
            "itself shares 'web'",
        ),
        (lambda s: (s.container("web"), s.container("a", network_mode="web", publish={80: 80})), "conflict"),
        (lambda s: (s.container("web"), s.container("a", "bridge", network_mode="web")), "has no networks"),
    ],
)
def test_what_docker_refuses_is_refused_when_built(build: object, message: str) -> None:
    s = Scenario("bad")
    build(s)  # type: ignore[operator]
    with pytest.raises(InvalidScenario, match=message):
        s.build()


def test_a_sidecar_cannot_be_connected_in_a_stage() -> None:
    s = Scenario("bad")
    s.container("web")
    s.container("side", network_mode="container:web")
    with s.stage("later") as st:
        st.connect("side", "bridge")
    with pytest.raises(InvalidScenario, match="cannot connect or disconnect it"):
        s.build()


def test_fixed_addresses_on_several_networks_and_what_is_refused() -> None:
    s = Scenario("two")
    a, b = s.network("a", subnet="198.18.60.0/24"), s.network("b", subnet="198.18.61.0/24")
    s.container("c", a, b, ip={a: "198.18.60.9", "b": "198.18.61.9"})
    t = s.build()
    assert [str(x.address) for x in t.container("c").attachments] == ["198.18.60.9", "198.18.61.9"]
    bad = Scenario("bad")
    bad.network("a")
    bad.container("c", "a", ip={"b": "198.18.61.9"})
    with pytest.raises(InvalidScenario, match="not attached to that network"):
        bad.build()


def test_publish_on_one_host_address_is_rendered_as_docker_20_10_writes_it() -> None:
    from netlab.backends import engines

    s = Scenario("lo")
    s.network("app", subnet="198.18.70.0/24")
    s.container("web", "app", publish={"127.0.0.1:8080": 80, "0.0.0.0:8081": 81})
    t = s.build()
    web = t.container("web")
    assert [(p.host_port, str(p.host_ip)) for p in web.publish] == [(8080, "127.0.0.1"), (8081, "None")]
    published = [engines.Published(t.network("app"), web.attachments[0].address, p) for p in web.publish]
    rules = engines.get("20.10").render([t.network("app")], published).iptables
    assert (
        "-A DOCKER -d 127.0.0.1/32 ! -i br-" in rules
        and "--dport 8080 -j DNAT --to-destination 198.18.70.2:80" in rules
    )
    assert "-A DOCKER ! -i br-" in rules  # 8081: every address


def test_every_profile_renders_a_host_address() -> None:
    """28, 29 and 29-nftables too (tests/unit/test_engine_golden.py checks them against moby's references)."""
    from netlab.backends import engines

    s = Scenario("lo")
    s.container("web", publish={"127.0.0.1:8080": 80})
    t = s.build()
    web = t.container("web")
    net = t.network("bridge")
    assert web.attachments[0].address is not None
    published = [engines.Published(net, web.attachments[0].address, web.publish[0])]
    for name in ("28", "29"):
        rules = engines.get(name).render([net], published, engines.Host()).iptables
        assert "-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT" in rules
        assert "-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP" in rules


def test_one_host_address_or_every_address_holds_a_port_once() -> None:
    s = Scenario("ports")
    s.container("a", publish={"127.0.0.1:8080": 80})
    s.container("b", publish={"127.0.0.2:8080": 80})  # another address: Docker allows it
    s.build()
    s.container("c", publish={8080: 81})  # every address: taken on 127.0.0.1 already
    with pytest.raises(InvalidScenario, match="already published by 'a'"):
        s.build()
    same = Scenario("same")
    same.container("a", publish={8080: 80, "127.0.0.1:8080": 81})
    with pytest.raises(InvalidScenario, match="already published by 'a'"):
        same.build()


def test_a_stage_cannot_give_an_address_on_an_external_network() -> None:
    s = Scenario("ext")
    s.network("shared", external="proxy-net")
    s.container("a")
    with s.stage("later") as st:
        st.connect("a", "shared", ip="198.18.9.9")
    with pytest.raises(InvalidScenario, match="the addresses are Docker's"):
        s.build()
    ok = Scenario("ext2")
    ok.network("shared", external=True)
    ok.container("a")
    with ok.stage("later") as st:
        st.connect("a", "shared")
    connect = ok.build().stages[1].actions[0]
    assert connect.address is None  # type: ignore[union-attr]


def _linked(s: Scenario) -> None:
    s.network("n", "bridge")
    s.container("db", "n")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s: (s.network("n", "bridge"), s.container("a", "n", links=["db"]), s.container("db", "n")),
         "declare that container before"),
        (lambda s: (_linked(s), s.container("a", "n", links=["nobody"])), "no such container"),
        (lambda s: (_linked(s), s.container("a", "n", links=["db:no such"])), "is not a DNS name"),
        (lambda s: (_linked(s), s.container("c", "n"), s.container("a", "n", links=["db:x", "c:x"])), "names both"),
        (lambda s: (_linked(s), s.container("a", links=["db"])), "legacy links"),
        (lambda s: (_linked(s), s.container("a", network_mode="db", links=["db"])), "links or sysctls"),
        (lambda s: (_linked(s), s.container("a", "n", links="db")), "links must be a list"),
        (lambda s: (_linked(s), s.container("s", network_mode="db"), s.container("a", "n", links=["s"])),
         "shares the namespace of 'db'; link that one"),
    ],
)  # fmt: skip
def test_links_docker_refuses_or_netlab_does_not_model_are_refused(build: object, message: str) -> None:
    s = Scenario("t")
    with pytest.raises(InvalidScenario, match=message):
        build(s)  # type: ignore[operator]
        s.build()


def test_a_link_alias_resolves_on_the_first_network_both_share_and_before_any_name() -> None:
    from netlab.model import dockerrules

    s = Scenario("t")
    s.network("a", "bridge")
    s.network("b", "bridge")
    s.container("db", "b", "a")
    s.container("x", "a")
    s.container("web", "a", "b", links=["db:x"])  # x is also a container's name: the link wins
    t = s.build()
    zone = dockerrules.embedded_zone(t, t.container("web"), t.containers)
    db_on_a = next(a.address for a in t.container("db").attachments if a.network == "a")
    assert zone["x"] == str(db_on_a)
    assert dockerrules.embedded_zone(t, t.container("x"), t.containers)["x"] == str(
        t.container("x").attachments[0].address
    )


@pytest.mark.parametrize(
    ("sysctls", "network", "message"),
    [
        ({"kernel.shmmax": "1"}, "bridge", "netlab sets net.\\* keys"),
        ({"net.ipv4.icmp_echo_ignore_all": "1\n"}, "bridge", "a value is"),
        ({"net.ipv4.icmp_echo_ignore_all": "1"}, "host", "not allowed in the host's network namespace"),
        ({"net.ipv4.icmp_echo_ignore_all": True}, "bridge", "sysctls must be a dict"),
    ],
)
def test_sysctls_docker_refuses_or_that_change_nothing_are_refused(sysctls: dict, network: str, message: str) -> None:
    s = Scenario("t")
    with pytest.raises(InvalidScenario, match=message):
        s.container("a", network, sysctls=sysctls)
        s.build()


def test_a_container_ignoring_echo_requests_is_predicted_closed_to_icmp_only() -> None:
    s = Scenario("t")
    n = s.network("n")
    s.container("a", n, sysctls={"net.ipv4.icmp_echo_ignore_all": 1, "net.core.somaxconn": 1024})
    s.container("b", n)
    s.measure("b", "a", "tcp:80")
    t = s.build()
    assert t.container("a").sysctls == (("net.core.somaxconn", "1024"), ("net.ipv4.icmp_echo_ignore_all", "1"))
    result = run_scenario(s, backend="fake")
    cells = {(c.src, c.dst, str(c.probe)): c.variants for c in result.predicted().cells}
    assert [v[1] for v in cells[("b", "a", "icmp")] or []] == [False]
    assert [v[1] for v in cells[("a", "b", "icmp")] or []] == [True]
