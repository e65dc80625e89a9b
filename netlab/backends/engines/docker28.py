"""Profiles 28 and 29: the iptables rules of Docker 28.5 and 29.x's bridge driver, rendered for one node.

Facts from moby's own documentation of a running daemon (`integration/network/bridge/iptablesdoc/generated`,
v28.5.2 and docker-v29.7.2; copies in tests/data/moby) and docs/drivers.md (Versions at a glance):
- FORWARD only jumps to DOCKER-USER and DOCKER-FORWARD; DOCKER-FORWARD runs DOCKER-CT (replies), the
  inter-network rules (28: DOCKER-ISOLATION-STAGE-1/2; 29: only DOCKER-INTERNAL, for --internal networks),
  DOCKER-BRIDGE (a jump to DOCKER per bridge), then accepts what leaves each bridge.
- DOCKER ends with `! -i <br> -o <br> -j DROP` per network, so an unpublished port stays closed whatever the
  FORWARD policy; published ports get an ACCEPT inserted above.
- raw PREROUTING drops packets for a container with published ports that do not come from its own bridge
  (direct routed access; since 28.2 per endpoint).
- No `-j RETURN` at the end of DOCKER-USER (28.3) or the isolation chains; 29 has no skip-DNAT RETURN.
Networks are appended (ACCEPT, DROP, conntrack) or inserted (isolation stage 2, internal rules, masquerade),
as the daemon's `-A`/`-I` leave them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from netlab.backends.engines import docker2010
from netlab.backends.engines.profile import DOCKER_DEFAULTS, V4, V6, Family, Host, Profile, Published, Rules
from netlab.model.topology import Network


def render(
    networks: Sequence[Network], published: Sequence[Published], host: Host = DOCKER_DEFAULTS, v29: bool = False
) -> Rules:
    """ip6tables is on by default since Docker 27: the IPv6 rules are the IPv4 ones for the dual-stack networks
    (moby's iptabler writes both families with one code path; see render_iptables)."""
    six = render_iptables(networks, published, host, v29, V6) if host.ipv6 and host.ip6tables is not False else ""
    return Rules(iptables=render_iptables(networks, published, host, v29), ip6tables=six)


def render_iptables(
    networks: Sequence[Network],
    published: Sequence[Published],
    host: Host = DOCKER_DEFAULTS,
    v29: bool = False,
    family: Family = V4,
) -> str:
    """IPv6 (libnetwork/drivers/bridge/internal/iptabler, v28.5.2): the dual-stack networks only, their IPv6
    subnets and addresses, ::1/128 for the loopback exception, and a DNAT that skips link-local sources
    (`! -s fe80::/10`), an internal network's DROPs that spare what stays on its bridge; a port published on a host
    IPv4 address gets no IPv6 rule. The IPv6 FORWARD policy is set
    to DROP only where Docker itself turned IPv6 forwarding on (netlab: the same host knob as IPv4)."""
    proxy = host.userland_proxy
    bridges = family.bridges(networks)
    one = family.host_prefix
    inter = "DOCKER-INTERNAL" if v29 else "DOCKER-ISOLATION-STAGE-1"
    f_docker_ports: list[str] = []
    f_docker_drop: list[str] = []
    f_bridge: list[str] = []
    f_ct: list[str] = []
    f_out: list[str] = []
    f_internal: list[str] = []  # inserted: newest network first
    f_iso1: list[str] = []
    f_iso2: list[str] = []  # inserted: newest first
    n_post: list[str] = []  # inserted: newest first
    n_skip: list[str] = []  # inserted: newest first
    n_dnat: list[str] = []
    n_hairpin: list[str] = []
    raw: list[str] = []
    for net in bridges:
        br = net.bridge_name
        subnet = family.subnet(net)
        if net.internal:
            # IPv6 leaves what stays on the bridge alone (neighbour discovery, link-local and multicast
            # addresses: moby da9e44a620, Docker 25.0); IPv4 matches the interface on one side only
            f_internal[:0] = (
                [
                    f"-A {inter} ! -s {subnet} ! -i {br} -o {br} -j DROP",
                    f"-A {inter} ! -d {subnet} -i {br} ! -o {br} -j DROP",
                ]
                if family is V6
                else [f"-A {inter} ! -s {subnet} -o {br} -j DROP", f"-A {inter} ! -d {subnet} -i {br} -j DROP"]
            )
            f_out.append(f"-A DOCKER-FORWARD -i {br} -o {br} -j {'ACCEPT' if net.icc else 'DROP'}")
            continue
        f_docker_drop.append(f"-A DOCKER ! -i {br} -o {br} -j DROP")
        f_bridge.append(f"-A DOCKER-BRIDGE -o {br} -j DOCKER")
        f_ct.append(f"-A DOCKER-CT -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
        if net.icc:
            f_out.append(f"-A DOCKER-FORWARD -i {br} -j ACCEPT")
        else:
            f_out += [f"-A DOCKER-FORWARD -i {br} -o {br} -j DROP", f"-A DOCKER-FORWARD -i {br} ! -o {br} -j ACCEPT"]
        if not v29:
            f_iso1.append(f"-A DOCKER-ISOLATION-STAGE-1 -i {br} ! -o {br} -j DOCKER-ISOLATION-STAGE-2")
            f_iso2.insert(0, f"-A DOCKER-ISOLATION-STAGE-2 -o {br} -j DROP")
        if net.masquerade:
            n_post.insert(0, f"-A POSTROUTING -s {subnet} ! -o {br} -j MASQUERADE")
            if proxy and not v29:
                n_skip.insert(0, f"-A DOCKER -i {br} -j RETURN")
        if not proxy:
            n_post.insert(0, f"-A POSTROUTING -o {br} -m addrtype --src-type LOCAL -j MASQUERADE")
    direct: list[str] = []
    for p in published:
        address = family.address(p)
        if p.network.internal or p.network not in bridges or address is None:
            continue
        br, pp = p.network.bridge_name, p.publish
        f_docker_ports.insert(
            0,
            f"-A DOCKER -d {address}/{one} ! -i {br} -o {br} -p {pp.proto} -m {pp.proto} "
            f"--dport {pp.container_port} -j ACCEPT",
        )
        skip_own = f"! -i {br} " if proxy else ""
        on = f"-d {pp.host_ip}/{one} " if pp.host_ip else ""  # `-p 127.0.0.1:8080:80`: that host address only
        link_local = "! -s fe80::/10 " if family is V6 else ""
        n_dnat.append(
            f"-A DOCKER {link_local}{on}{skip_own}-p {pp.proto} -m {pp.proto} --dport {pp.host_port} "
            f"-j DNAT --to-destination {family.endpoint(address, pp.container_port)}"
        )
        if not proxy:
            n_hairpin.append(
                f"-A POSTROUTING -s {address}/{one} -d {address}/{one} -p {pp.proto} -m {pp.proto} "
                f"--dport {pp.container_port} -j MASQUERADE"
            )
        rule = f"-A PREROUTING -d {address}/{one} ! -i {br} -j DROP"
        if rule not in direct:
            direct.append(rule)
        if pp.host_ip is not None and pp.host_ip.is_loopback:
            # filterPortMappedOnLoopback (moby usernet-portmap-lo): remote traffic to the loopback-published port
            direct.append(
                f"-A PREROUTING -d {pp.host_ip}/32 ! -i lo -p {pp.proto} -m {pp.proto} --dport {pp.host_port} -j DROP"
            )
    raw += direct
    chains = ["DOCKER", "DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-FORWARD"]
    chains += ["DOCKER-INTERNAL"] if v29 else ["DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2"]
    lines = [
        "*raw",
        ":PREROUTING ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        *raw,
        "COMMIT",
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        f"-A OUTPUT {f'! -d {family.loopback} ' if proxy else ''}-m addrtype --dst-type LOCAL -j DOCKER",
        *n_post,
        *n_hairpin,
        *n_skip,
        *n_dnat,
        "COMMIT",
        "*filter",
        ":INPUT ACCEPT [0:0]",
        f":FORWARD {'DROP' if host.forward_drop else 'ACCEPT'} [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        *(f":{c} - [0:0]" for c in [*chains, "DOCKER-USER"]),
        "-A FORWARD -j DOCKER-USER",
        "-A FORWARD -j DOCKER-FORWARD",
        *f_docker_ports,
        *f_docker_drop,
        *f_bridge,
        *f_ct,
        "-A DOCKER-FORWARD -j DOCKER-CT",
        f"-A DOCKER-FORWARD -j {inter}",
        "-A DOCKER-FORWARD -j DOCKER-BRIDGE",
        *f_out,
        *(f_internal if v29 else [*f_internal, *f_iso1]),
        *f_iso2,
        "COMMIT",
    ]
    return "\n".join(lines) + "\n"


PROFILE_28 = Profile(
    name="28",
    version="28.5.2",
    firewall_backend="iptables",
    sets_forward_policy=True,
    source="moby/moby v28.5.2 integration/network/bridge/iptablesdoc/generated (tests/data/moby/iptables/28)",
    render=render,
    embedded_dns=docker2010.embedded_dns,
)

PROFILE_29 = Profile(
    name="29",
    version="29.7.2",
    firewall_backend="iptables",
    sets_forward_policy=True,
    source="moby/moby docker-v29.7.2 integration/network/bridge/iptablesdoc/generated (tests/data/moby/iptables/29)",
    render=partial(render, v29=True),
    embedded_dns=docker2010.embedded_dns,
)
