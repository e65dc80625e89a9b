"""Profile 20.10: the iptables rules Docker 20.10's bridge driver writes, rendered for one node.

Derived from libnetwork v20.10 (drivers/bridge/setup_ip_tables.go, iptables/iptables.go,
firewall_linux.go); see ../shared/reference/docker-drivers.md §1.1-1.3. Networks are given in
creation order; Docker inserts each new network's FORWARD rules at the top, then re-inserts the
DOCKER-ISOLATION-STAGE-1 and DOCKER-USER jumps above them, so the newest network comes first.
The text is what `iptables-save` prints for that state (canonical match order) and is loaded
with `iptables-restore` into the node's namespace, which netlab owns entirely.
"""

from __future__ import annotations

from collections.abc import Sequence

from netlab.backends.engines.profile import DOCKER_DEFAULTS, Host, Profile, Published, Rules
from netlab.model.topology import Driver, Network


def render(networks: Sequence[Network], published: Sequence[Published], host: Host = DOCKER_DEFAULTS) -> Rules:
    return Rules(iptables=render_iptables(networks, published, host))


def render_iptables(networks: Sequence[Network], published: Sequence[Published], host: Host = DOCKER_DEFAULTS) -> str:
    """With the userland proxy off (hairpin mode) the nat OUTPUT jump also catches 127.0.0.0/8, local sources
    are masqueraded onto each bridge, the DNAT matches traffic from the container's own bridge too and no
    per-bridge RETURN skips it (libnetwork v20.10 setup_ip_tables.go, iptables.go)."""
    proxy = host.userland_proxy
    bridges = [n for n in networks if n.driver == Driver.BRIDGE]
    newest_first = list(reversed(bridges))
    f_forward: list[str] = ["-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-ISOLATION-STAGE-1"]
    f_docker: list[str] = []
    f_iso1: list[str] = []
    f_iso2: list[str] = []
    icc_drops: list[str] = []
    n_post: list[str] = []
    n_docker: list[str] = []
    for net in newest_first:
        br = net.bridge_name
        if net.internal:
            f_forward.append(f"-A FORWARD -i {br} -o {br} -j ACCEPT" if net.icc else "")
            f_iso1 += [
                f"-A DOCKER-ISOLATION-STAGE-1 ! -s {net.subnet} -o {br} -j DROP",
                f"-A DOCKER-ISOLATION-STAGE-1 ! -d {net.subnet} -i {br} -j DROP",
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
                n_post.append(f"-A POSTROUTING -s {net.subnet} ! -o {br} -j MASQUERADE")
                if proxy:
                    n_docker.append(f"-A DOCKER -i {br} -j RETURN")
        if not net.icc:
            icc_drops.append(f"-A FORWARD -i {br} -o {br} -j DROP")
    # --icc=false appends its DROP, so it ends up after every network's block (oldest first)
    f_forward += list(reversed(icc_drops))
    for p in published:
        if p.network.internal or p.network.driver != Driver.BRIDGE:
            continue  # ProgramExternalConnectivity is skipped for internal networks
        br, pp = p.network.bridge_name, p.publish
        f_docker.append(
            f"-A DOCKER -d {p.address}/32 ! -i {br} -o {br} -p {pp.proto} -m {pp.proto} "
            f"--dport {pp.container_port} -j ACCEPT"
        )
        n_post.append(
            f"-A POSTROUTING -s {p.address}/32 -d {p.address}/32 -p {pp.proto} -m {pp.proto} "
            f"--dport {pp.container_port} -j MASQUERADE"
        )
        skip_own = f"! -i {br} " if proxy else ""
        on = f"-d {pp.host_ip}/32 " if pp.host_ip else ""  # `-p 127.0.0.1:8080:80`: that host address only
        n_docker.append(
            f"-A DOCKER {on}{skip_own}-p {pp.proto} -m {pp.proto} --dport {pp.host_port} "
            f"-j DNAT --to-destination {p.address}:{pp.container_port}"
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
        "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        f"-A OUTPUT {'! -d 127.0.0.0/8 ' if proxy else ''}-m addrtype --dst-type LOCAL -j DOCKER",
        *n_post,
        *n_docker,
        "COMMIT",
        "*filter",
        ":INPUT ACCEPT [0:0]",
        f":FORWARD {'DROP' if host.forward_drop else 'ACCEPT'} [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        ":DOCKER-ISOLATION-STAGE-1 - [0:0]",
        ":DOCKER-ISOLATION-STAGE-2 - [0:0]",
        ":DOCKER-USER - [0:0]",
        *[r for r in f_forward if r],
        *f_docker,
        *f_iso1,
        *f_iso2,
        "-A DOCKER-USER -j RETURN",
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
)
