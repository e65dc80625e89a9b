"""Profile 20.10: the iptables rules Docker 20.10's bridge driver writes, rendered for one node.

Derived from libnetwork v20.10 (drivers/bridge/setup_ip_tables.go, iptables/iptables.go,
firewall_linux.go); see docs/engines.md. Networks are given in creation order; Docker inserts each new
network's FORWARD rules at the top, then re-inserts the DOCKER-ISOLATION-STAGE-1 and DOCKER-USER jumps
above them, so the newest network comes first. The text is what `iptables-save` prints for that state
(canonical match order) and is loaded with `iptables-restore` into the node's namespace, which netlab
owns entirely.

IPv6: 20.10 writes ip6tables rules only when started with `--experimental --ip6tables` (Host.ip6tables;
without `--experimental` the daemon refuses to start). Checked against the real dockerd 20.10.24: the same
code writes the IPv6 table, for the dual-stack networks, with four differences: no DOCKER-USER chain, a
FORWARD policy of DROP whether or not Docker turned forwarding on (daemon/daemon_unix.go sets it
unconditionally for ip6tables), the isolation jumps and drops of every non-internal bridge network, IPv4-only
ones and docker0 included (isolateNetwork runs per family for every network), and ::1/128 as the loopback
exception.
"""

from __future__ import annotations

from collections.abc import Sequence

from netlab.backends.engines.profile import DOCKER_DEFAULTS, V4, V6, Family, Host, Profile, Published, Rules
from netlab.model.topology import Driver, Network


def render(networks: Sequence[Network], published: Sequence[Published], host: Host = DOCKER_DEFAULTS) -> Rules:
    six = render_iptables(networks, published, host, V6) if host.ipv6 and host.ip6tables is True else ""
    return Rules(iptables=render_iptables(networks, published, host), ip6tables=six)


def render_iptables(
    networks: Sequence[Network], published: Sequence[Published], host: Host = DOCKER_DEFAULTS, family: Family = V4
) -> str:
    """With the userland proxy off (hairpin mode) the nat OUTPUT jump also catches 127.0.0.0/8, local sources
    are masqueraded onto each bridge, the DNAT matches traffic from the container's own bridge too and no
    per-bridge RETURN skips it (libnetwork v20.10 setup_ip_tables.go, iptables.go). `family` V6: the
    ip6tables text of a daemon started with --ip6tables (the module's docstring)."""
    proxy = host.userland_proxy
    v6 = family is V6
    one = family.host_prefix
    every = [n for n in networks if n.driver == Driver.BRIDGE]
    bridges = family.bridges(networks)
    newest_first = list(reversed(every))
    f_forward: list[str] = [] if v6 else ["-A FORWARD -j DOCKER-USER"]
    # each network's setupIPTables ensures the FORWARD jump, and a non-internal one the nat jumps (ProgramChain):
    # for IPv4 docker0 is one; the IPv6 table has them from its first dual-stack network on
    if bridges or not v6:
        f_forward.append("-A FORWARD -j DOCKER-ISOLATION-STAGE-1")
    nat_jumps = [
        "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        f"-A OUTPUT {f'! -d {family.loopback} ' if proxy else ''}-m addrtype --dst-type LOCAL -j DOCKER",
    ]
    if v6 and all(n.internal for n in bridges):
        nat_jumps = []
    f_docker: list[str] = []
    f_iso1: list[str] = []
    f_iso2: list[str] = []
    icc_drops: list[str] = []
    n_post: list[str] = []
    n_docker: list[str] = []
    for net in newest_first:
        br = net.bridge_name
        if net not in bridges:  # IPv4-only, in the IPv6 table: the isolation rules only (isolateNetwork)
            if not net.internal:
                f_iso1.append(f"-A DOCKER-ISOLATION-STAGE-1 -i {br} ! -o {br} -j DOCKER-ISOLATION-STAGE-2")
                f_iso2.append(f"-A DOCKER-ISOLATION-STAGE-2 -o {br} -j DROP")
            continue
        subnet = family.subnet(net)
        if net.internal:
            f_forward.append(f"-A FORWARD -i {br} -o {br} -j ACCEPT" if net.icc else "")
            f_iso1 += [
                f"-A DOCKER-ISOLATION-STAGE-1 ! -s {subnet} -o {br} -j DROP",
                f"-A DOCKER-ISOLATION-STAGE-1 ! -d {subnet} -i {br} -j DROP",
            ]
        else:
            f_forward += [
                f"-A FORWARD -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                f"-A FORWARD -o {br} -j DOCKER",
                f"-A FORWARD -i {br} ! -o {br} -j ACCEPT",
            ]
            if net.icc:
                f_forward.append(f"-A FORWARD -i {br} -o {br} -j ACCEPT")
            f_iso1.append(f"-A DOCKER-ISOLATION-STAGE-1 -i {br} ! -o {br} -j DOCKER-ISOLATION-STAGE-2")
            f_iso2.append(f"-A DOCKER-ISOLATION-STAGE-2 -o {br} -j DROP")
            if net.masquerade:
                if not proxy:
                    n_post.append(f"-A POSTROUTING -o {br} -m addrtype --src-type LOCAL -j MASQUERADE")
                n_post.append(f"-A POSTROUTING -s {subnet} ! -o {br} -j MASQUERADE")
                if proxy:
                    n_docker.append(f"-A DOCKER -i {br} -j RETURN")
        if not net.icc:
            icc_drops.append(f"-A FORWARD -i {br} -o {br} -j DROP")
    # --icc=false appends its DROP, so it ends up after every network's block (oldest first)
    f_forward += list(reversed(icc_drops))
    for p in published:
        address = family.address(p)
        if p.network.internal or p.network not in bridges or address is None:
            continue  # ProgramExternalConnectivity is skipped for internal networks
        br, pp = p.network.bridge_name, p.publish
        f_docker.append(
            f"-A DOCKER -d {address}/{one} ! -i {br} -o {br} -p {pp.proto} -m {pp.proto} "
            f"--dport {pp.container_port} -j ACCEPT"
        )
        n_post.append(
            f"-A POSTROUTING -s {address}/{one} -d {address}/{one} -p {pp.proto} -m {pp.proto} "
            f"--dport {pp.container_port} -j MASQUERADE"
        )
        skip_own = f"! -i {br} " if proxy else ""
        on = f"-d {pp.host_ip}/{one} " if pp.host_ip else ""  # `-p 127.0.0.1:8080:80`: that host address only
        n_docker.append(
            f"-A DOCKER {on}{skip_own}-p {pp.proto} -m {pp.proto} --dport {pp.host_port} "
            f"-j DNAT --to-destination {family.endpoint(address, pp.container_port)}"
        )
    f_iso1.append("-A DOCKER-ISOLATION-STAGE-1 -j RETURN")
    f_iso2.append("-A DOCKER-ISOLATION-STAGE-2 -j RETURN")
    lines = [
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        *nat_jumps,
        *n_post,
        *n_docker,
        "COMMIT",
        "*filter",
        ":INPUT ACCEPT [0:0]",
        f":FORWARD {'DROP' if host.forward_drop or v6 else 'ACCEPT'} [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        ":DOCKER-ISOLATION-STAGE-1 - [0:0]",
        ":DOCKER-ISOLATION-STAGE-2 - [0:0]",
        *([] if v6 else [":DOCKER-USER - [0:0]"]),
        *[r for r in f_forward if r],
        *f_docker,
        *f_iso1,
        *f_iso2,
        *([] if v6 else ["-A DOCKER-USER -j RETURN"]),
        "COMMIT",
    ]
    return "\n".join(lines) + "\n"


def embedded_dns(udp_port: int, tcp_port: int) -> Rules:
    return Rules(iptables=embedded_dns_iptables(udp_port, tcp_port))


def embedded_dns_iptables(udp_port: int, tcp_port: int) -> str:
    """The nat rules Docker's embedded DNS puts in a container's own namespace (libnetwork v20.10
    resolver_unix.go, setupIPTable): queries to 127.0.0.11:53 are DNATed to the ports the resolver really
    listens on and their answers SNATed back to :53. Rendered as iptables-save prints it, checked against
    Docker 20.10.24 (its -I order puts tcp first)."""
    dns = "127.0.0.11/32"
    return "\n".join(
        [
            "*nat",
            ":PREROUTING ACCEPT [0:0]",
            ":INPUT ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]",
            ":DOCKER_OUTPUT - [0:0]",
            ":DOCKER_POSTROUTING - [0:0]",
            f"-A OUTPUT -d {dns} -j DOCKER_OUTPUT",
            f"-A POSTROUTING -d {dns} -j DOCKER_POSTROUTING",
            f"-A DOCKER_OUTPUT -d {dns} -p tcp -m tcp --dport 53 -j DNAT --to-destination 127.0.0.11:{tcp_port}",
            f"-A DOCKER_OUTPUT -d {dns} -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:{udp_port}",
            f"-A DOCKER_POSTROUTING -s {dns} -p tcp -m tcp --sport {tcp_port} -j SNAT --to-source :53",
            f"-A DOCKER_POSTROUTING -s {dns} -p udp -m udp --sport {udp_port} -j SNAT --to-source :53",
            "COMMIT",
            "",
        ]
    )


PROFILE = Profile(
    name="20.10",
    version="20.10.24",
    firewall_backend="iptables",
    sets_forward_policy=True,
    source="checked against the real dockerd 20.10.24 (tests/docker/test_parity.py)",
    render=render,
    embedded_dns=embedded_dns,
    ip6tables=False,
)
