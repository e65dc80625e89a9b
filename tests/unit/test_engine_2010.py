"""The 20.10 engine profile (netlab/backends/engines/docker2010.py): the iptables-save text Docker 20.10's
bridge driver leaves behind (docs/drivers.md, Bridge). Networks are given in
creation order."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from netlab import Scenario
from netlab.backends.engines import Host, Published
from netlab.backends.engines.docker2010 import render_iptables as render
from netlab.model.topology import Driver, Network, Publish

DATA = Path(__file__).parent.parent / "data"
ICC = "com.docker.network.bridge.enable_icc"
MASQ = "com.docker.network.bridge.enable_ip_masquerade"


def bridge(name: str, third_octet: int, br: str | None = None, internal: bool = False, **options: str) -> Network:
    subnet = IPv4Network(f"198.18.{third_octet}.0/24")
    return Network(
        name,
        Driver.BRIDGE,
        subnet,
        subnet.network_address + 1,
        options=dict(options),
        internal=internal,
        predefined=name == "bridge",
        bridge_name=br or ("docker0" if name == "bridge" else f"br-{name}"),
    )


DOCKER0 = bridge("bridge", 1)


def rules(text: str) -> dict[str, list[str]]:
    """Rule lines by table: {"nat": [...], "filter": [...]} (chain declarations left out)."""
    out: dict[str, list[str]] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
            out[table] = []
        elif line.startswith("-A "):
            out[table].append(line)
    return out


def chain(text: str, table: str, name: str) -> list[str]:
    return [r for r in rules(text)[table] if r.split()[1] == name]


def for_bridge(lines: list[str], br: str) -> list[str]:
    return [r for r in lines if f" {br} " in f"{r} "]


# -- golden files --------------------------------------------------------------


def test_default_bridge_and_two_user_bridges_with_a_published_port_match_the_golden_file():
    front, back = bridge("front", 2), bridge("back", 3)
    web = Published(front, IPv4Address("198.18.2.2"), Publish(8080, 80))
    got = render([DOCKER0, front, back], [web])
    assert got == (DATA / "dockerfw_bridges_published.rules").read_text()


def test_icc_off_no_masquerade_and_internal_networks_match_the_golden_file():
    closed = bridge("closed", 2, **{ICC: "false"})
    plain = bridge("plain", 3, **{MASQ: "false"})
    inner = bridge("inner", 4, internal=True)
    ignored = Published(inner, IPv4Address("198.18.4.2"), Publish(8081, 80))
    got = render([DOCKER0, closed, plain, inner], [ignored])
    assert got == (DATA / "dockerfw_options.rules").read_text()


# -- layout --------------------------------------------------------------------


def test_forward_starts_with_docker_user_then_isolation_jumps():
    forward = chain(render([DOCKER0, bridge("front", 2)], []), "filter", "FORWARD")
    assert forward[:2] == ["-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-ISOLATION-STAGE-1"]


def test_newest_networks_forward_block_comes_first_after_the_jumps():
    old, new = bridge("old", 2), bridge("new", 3)
    forward = chain(render([old, new], []), "filter", "FORWARD")
    assert forward[2:] == [
        "-A FORWARD -o br-new -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A FORWARD -o br-new -j DOCKER",
        "-A FORWARD -i br-new ! -o br-new -j ACCEPT",
        "-A FORWARD -i br-new -o br-new -j ACCEPT",
        "-A FORWARD -o br-old -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A FORWARD -o br-old -j DOCKER",
        "-A FORWARD -i br-old ! -o br-old -j ACCEPT",
        "-A FORWARD -i br-old -o br-old -j ACCEPT",
    ]


def test_swapping_creation_order_swaps_the_forward_blocks():
    a, b = bridge("aa", 2), bridge("bb", 3)
    first = chain(render([a, b], []), "filter", "FORWARD")
    second = chain(render([b, a], []), "filter", "FORWARD")
    assert first[2].startswith("-A FORWARD -o br-bb ")
    assert second[2].startswith("-A FORWARD -o br-aa ")


def test_each_bridge_subnet_is_masqueraded_newest_first():
    post = chain(render([DOCKER0, bridge("front", 2), bridge("back", 3)], []), "nat", "POSTROUTING")
    assert post == [
        "-A POSTROUTING -s 198.18.3.0/24 ! -o br-back -j MASQUERADE",
        "-A POSTROUTING -s 198.18.2.0/24 ! -o br-front -j MASQUERADE",
        "-A POSTROUTING -s 198.18.1.0/24 ! -o docker0 -j MASQUERADE",
    ]


def test_each_bridge_skips_dnat_for_its_own_traffic():
    docker = chain(render([DOCKER0, bridge("front", 2)], []), "nat", "DOCKER")
    assert docker == ["-A DOCKER -i br-front -j RETURN", "-A DOCKER -i docker0 -j RETURN"]


def test_isolation_stage_1_jumps_and_stage_2_drops_per_bridge_then_return():
    text = render([bridge("front", 2), bridge("back", 3)], [])
    assert chain(text, "filter", "DOCKER-ISOLATION-STAGE-1") == [
        "-A DOCKER-ISOLATION-STAGE-1 -i br-back ! -o br-back -j DOCKER-ISOLATION-STAGE-2",
        "-A DOCKER-ISOLATION-STAGE-1 -i br-front ! -o br-front -j DOCKER-ISOLATION-STAGE-2",
        "-A DOCKER-ISOLATION-STAGE-1 -j RETURN",
    ]
    assert chain(text, "filter", "DOCKER-ISOLATION-STAGE-2") == [
        "-A DOCKER-ISOLATION-STAGE-2 -o br-back -j DROP",
        "-A DOCKER-ISOLATION-STAGE-2 -o br-front -j DROP",
        "-A DOCKER-ISOLATION-STAGE-2 -j RETURN",
    ]
    assert chain(text, "filter", "DOCKER-USER") == ["-A DOCKER-USER -j RETURN"]


@pytest.mark.parametrize(("forward_drop", "policy"), [(True, ":FORWARD DROP [0:0]"), (False, ":FORWARD ACCEPT [0:0]")])
def test_forward_policy_follows_forward_drop(forward_drop: bool, policy: str):
    text = render([DOCKER0], [], Host(forward_drop=forward_drop))
    assert policy in text.splitlines()


def test_output_is_two_committed_tables_ending_in_a_newline():
    text = render([DOCKER0], [])
    assert text.endswith("COMMIT\n")
    assert [line for line in text.splitlines() if line.startswith("*") or line == "COMMIT"] == [
        "*nat",
        "COMMIT",
        "*filter",
        "COMMIT",
    ]


def test_networks_of_other_drivers_add_no_rules():
    mv = Network("mv", Driver.MACVLAN, IPv4Network("198.18.9.0/24"), IPv4Address("198.18.9.1"), parent="lan0")
    host = Network("host", Driver.HOST, predefined=True)
    none = Network("none", Driver.NONE, predefined=True)
    assert render([DOCKER0, mv, host, none], []) == render([DOCKER0], [])


# -- enable_icc=false ----------------------------------------------------------


def test_icc_off_drops_bridge_to_bridge_traffic_and_has_no_icc_accept():
    closed, opened = bridge("closed", 2, **{ICC: "false"}), bridge("opened", 3)
    forward = chain(render([closed, opened], []), "filter", "FORWARD")
    assert "-A FORWARD -i br-closed -o br-closed -j DROP" in forward
    assert "-A FORWARD -i br-closed -o br-closed -j ACCEPT" not in forward
    assert "-A FORWARD -i br-opened -o br-opened -j ACCEPT" in forward
    assert "-A FORWARD -i br-closed ! -o br-closed -j ACCEPT" in forward


def test_icc_drops_are_appended_after_every_forward_block_oldest_first():
    a = bridge("aa", 2, **{ICC: "false"})
    b = bridge("bb", 3)
    c = bridge("cc", 4, **{ICC: "false"})
    forward = chain(render([a, b, c], []), "filter", "FORWARD")
    assert forward[-2:] == ["-A FORWARD -i br-aa -o br-aa -j DROP", "-A FORWARD -i br-cc -o br-cc -j DROP"]


def test_icc_off_keeps_masquerade_and_isolation():
    text = render([bridge("closed", 2, **{ICC: "false"})], [])
    assert "-A POSTROUTING -s 198.18.2.0/24 ! -o br-closed -j MASQUERADE" in rules(text)["nat"]
    assert "-A DOCKER-ISOLATION-STAGE-2 -o br-closed -j DROP" in rules(text)["filter"]


# -- enable_ip_masquerade=false --------------------------------------------------


def test_masquerade_off_has_no_masquerade_and_no_dnat_skip_for_that_bridge():
    plain, nat = bridge("plain", 2, **{MASQ: "false"}), bridge("nat", 3)
    text = render([plain, nat], [])
    assert for_bridge(rules(text)["nat"], "br-plain") == []
    assert "-A POSTROUTING -s 198.18.3.0/24 ! -o br-nat -j MASQUERADE" in rules(text)["nat"]
    assert "-A DOCKER -i br-nat -j RETURN" in rules(text)["nat"]


def test_masquerade_off_keeps_forward_rules_and_isolation():
    text = render([bridge("plain", 2, **{MASQ: "false"})], [])
    assert for_bridge(chain(text, "filter", "FORWARD"), "br-plain") == [
        "-A FORWARD -o br-plain -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A FORWARD -o br-plain -j DOCKER",
        "-A FORWARD -i br-plain ! -o br-plain -j ACCEPT",
        "-A FORWARD -i br-plain -o br-plain -j ACCEPT",
    ]
    assert "-A DOCKER-ISOLATION-STAGE-2 -o br-plain -j DROP" in rules(text)["filter"]


# -- internal ------------------------------------------------------------------


def test_internal_network_gets_the_two_stage_1_drops_and_nothing_else_but_icc():
    inner = bridge("inner", 4, internal=True)
    text = render([inner], [])
    filt = rules(text)["filter"]
    assert chain(text, "filter", "DOCKER-ISOLATION-STAGE-1") == [
        "-A DOCKER-ISOLATION-STAGE-1 ! -s 198.18.4.0/24 -o br-inner -j DROP",
        "-A DOCKER-ISOLATION-STAGE-1 ! -d 198.18.4.0/24 -i br-inner -j DROP",
        "-A DOCKER-ISOLATION-STAGE-1 -j RETURN",
    ]
    assert for_bridge(chain(text, "filter", "FORWARD"), "br-inner") == ["-A FORWARD -i br-inner -o br-inner -j ACCEPT"]
    assert not any("conntrack" in r for r in filt)
    assert "-A FORWARD -o br-inner -j DOCKER" not in filt
    assert chain(text, "filter", "DOCKER-ISOLATION-STAGE-2") == ["-A DOCKER-ISOLATION-STAGE-2 -j RETURN"]
    assert for_bridge(rules(text)["nat"], "br-inner") == []
    assert not any("MASQUERADE" in r for r in rules(text)["nat"])


def test_internal_network_with_icc_off_drops_and_never_accepts_bridge_to_bridge():
    inner = bridge("inner", 4, internal=True, **{ICC: "false"})
    forward = chain(render([inner], []), "filter", "FORWARD")
    assert for_bridge(forward, "br-inner") == ["-A FORWARD -i br-inner -o br-inner -j DROP"]


def test_internal_network_ignores_published_ports():
    inner = bridge("inner", 4, internal=True)
    pub = Published(inner, IPv4Address("198.18.4.2"), Publish(8080, 80))
    assert render([inner], [pub]) == render([inner], [])


# -- published ports -----------------------------------------------------------


def test_published_port_adds_dnat_docker_accept_and_hairpin_masquerade():
    front = bridge("front", 2)
    pub = Published(front, IPv4Address("198.18.2.5"), Publish(8080, 80))
    text = render([DOCKER0, front], [pub])
    without = rules(render([DOCKER0, front], []))
    added = {t: [r for r in rs if r not in without[t]] for t, rs in rules(text).items()}
    assert added == {
        "nat": [
            "-A POSTROUTING -s 198.18.2.5/32 -d 198.18.2.5/32 -p tcp -m tcp --dport 80 -j MASQUERADE",
            "-A DOCKER ! -i br-front -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.18.2.5:80",
        ],
        "filter": ["-A DOCKER -d 198.18.2.5/32 ! -i br-front -o br-front -p tcp -m tcp --dport 80 -j ACCEPT"],
    }


def test_dnat_comes_after_the_dnat_skips_and_hairpin_after_the_subnet_masquerade():
    front = bridge("front", 2)
    pub = Published(front, IPv4Address("198.18.2.5"), Publish(8080, 80))
    text = render([DOCKER0, front], [pub])
    assert chain(text, "nat", "DOCKER")[-1].endswith("-j DNAT --to-destination 198.18.2.5:80")
    assert chain(text, "nat", "POSTROUTING")[-1].startswith("-A POSTROUTING -s 198.18.2.5/32 -d 198.18.2.5/32")


def test_published_ports_keep_their_order():
    front = bridge("front", 2)
    pubs = [
        Published(front, IPv4Address("198.18.2.2"), Publish(8080, 80)),
        Published(front, IPv4Address("198.18.2.3"), Publish(8443, 443)),
    ]
    dnat = [r for r in chain(render([front], pubs), "nat", "DOCKER") if "DNAT" in r]
    assert [r.split("--to-destination ")[1] for r in dnat] == ["198.18.2.2:80", "198.18.2.3:443"]


def test_published_port_on_a_host_network_is_ignored():
    host = Network("host", Driver.HOST, predefined=True)
    pub = Published(host, IPv4Address("198.18.0.254"), Publish(9000, 9000))
    assert render([DOCKER0, host], [pub]) == render([DOCKER0], [])


# -- from a scenario -----------------------------------------------------------


def test_scenario_networks_render_with_docker0_created_first():
    s = Scenario("fw")
    front = s.network("front")
    s.container("web", front)
    t = s.build()
    text = render(t.networks_on("host"), [])
    forward = chain(text, "filter", "FORWARD")
    br = t.network("front").bridge_name
    assert br is not None and br.startswith("br-")
    assert forward[2] == f"-A FORWARD -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    assert forward[-1] == "-A FORWARD -i docker0 -o docker0 -j ACCEPT"
    assert f"-A POSTROUTING -s {t.network('bridge').subnet} ! -o docker0 -j MASQUERADE" in rules(text)["nat"]
