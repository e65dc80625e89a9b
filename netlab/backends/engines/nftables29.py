"""Profile 29-nftables: Docker 29 with `--firewall-backend=nftables`, its own `ip docker-bridges` table.

Facts from moby's nftabler golden files (docker-v29.7.2, copies in tests/data/moby/nftables) and
docs.docker.com/engine/network/firewall-nftables: one table per family, base chains filter-FORWARD,
nat-PREROUTING/OUTPUT/POSTROUTING and raw-PREROUTING, verdict maps from a bridge's name to its per-network
chains (filter-forward-in__<br> for packets into it, filter-forward-out__<br> out of it, the same for nat
postrouting). Packets into a bridge pass only as replies, from the bridge itself (ICC), to a published
port, or are dropped as "UNPUBLISHED PORT DROP". Docker writes no iptables rules at all in this mode, never
touches the FORWARD policy and does not enable IP forwarding itself (the host must).
The embedded resolver's rules in a container are an `ip docker-dns` table (resolver_unix.go,
setupNftablesNAT).
"""

from __future__ import annotations

from collections.abc import Sequence

from netlab.backends.engines.profile import DOCKER_DEFAULTS, V4, V6, Family, Host, Profile, Published, Rules
from netlab.model.topology import Network

TABLE = "docker-bridges"
MAPS = ("filter-forward-in-jumps", "filter-forward-out-jumps", "nat-postrouting-in-jumps", "nat-postrouting-out-jumps")


def render(networks: Sequence[Network], published: Sequence[Published], host: Host = DOCKER_DEFAULTS) -> Rules:
    six = render_nft(networks, published, host, V6) if host.ipv6 and host.ip6tables is not False else ""
    return Rules(nftables=render_nft(networks, published, host) + six)


def render_nft(
    networks: Sequence[Network], published: Sequence[Published], host: Host = DOCKER_DEFAULTS, family: Family = V4
) -> str:
    """The table as `nft list table ip docker-bridges` prints it (counters without values), loadable with
    `nft -f`. A profile of the Docker daemon: the host's own iptables FORWARD policy is not its business.
    IPv6 (`table ip6 docker-bridges`, moby's `__ip6.golden` files): the dual-stack networks, `ip6` matches, ::1
    for the loopback exception and a DNAT that skips link-local sources."""
    proxy = host.userland_proxy
    ip = family.nft
    bridges = family.bridges(networks)
    ports = [p for p in published if not p.network.internal and p.network in bridges and family.address(p)]
    out = [f"table {ip} {TABLE} {{"]
    for name in MAPS:
        chain = name.removesuffix("-jumps")
        elements = ", ".join(f'"{n.bridge_name}" : jump {chain}__{n.bridge_name}' for n in bridges)
        out += [f"\tmap {name} {{", "\t\ttype ifname : verdict"]
        if elements:
            out.append(f"\t\telements = {{ {elements} }}")
        out += ["\t}", ""]
    local = "" if not proxy else f"{ip} daddr != {family.loopback.removesuffix('/128')} "
    out += _chain(
        "filter-FORWARD",
        "type filter hook forward priority filter; policy accept;",
        ["oifname vmap @filter-forward-in-jumps", "iifname vmap @filter-forward-out-jumps"],
    )
    out += _chain(
        "nat-OUTPUT",
        # what `nft list` prints for Docker's chain; moby's golden files spell it `dstnat`, which older nft
        # (Debian 12's 1.0.6) refuses for the output hook
        "type nat hook output priority -100; policy accept;",
        [f"{local}fib daddr type local counter jump nat-prerouting-and-output"],
    )
    out += _chain(
        "nat-POSTROUTING",
        "type nat hook postrouting priority srcnat; policy accept;",
        ["iifname vmap @nat-postrouting-out-jumps", "oifname vmap @nat-postrouting-in-jumps"],
    )
    out += _chain(
        "nat-PREROUTING",
        "type nat hook prerouting priority dstnat; policy accept;",
        ["fib daddr type local counter jump nat-prerouting-and-output"],
    )
    dnat = []
    direct: list[str] = []
    for p in ports:
        br, pp = p.network.bridge_name, p.publish
        address = family.address(p)
        assert address is not None
        skip_own = f'iifname != "{br}" ' if proxy else ""
        on = f"{ip} daddr {pp.host_ip} " if pp.host_ip else ""  # published on that host address only
        link_local = "ip6 saddr != fe80::/10 " if family is V6 else ""
        dnat.append(
            f"{skip_own}{link_local}{on}{pp.proto} dport {pp.host_port} counter dnat to "
            f'{family.endpoint(address, pp.container_port)} comment "DNAT"'
        )
        rule = f'{ip} daddr {address} iifname != "{br}" counter drop comment "DROP DIRECT ACCESS"'
        if rule not in direct:
            direct.append(rule)
        if pp.host_ip is not None and pp.host_ip.is_loopback and family is V4:  # moby's golden: bindlh=true
            direct.append(
                f'iifname != "lo" ip daddr {pp.host_ip} {pp.proto} dport {pp.host_port} counter drop '
                'comment "DROP REMOTE LOOPBACK"'
            )
    out += _chain("nat-prerouting-and-output", None, dnat)
    out += _chain("raw-PREROUTING", "type filter hook prerouting priority raw; policy accept;", direct)
    for net in bridges:
        br = net.bridge_name
        icc = "accept" if net.icc else "drop"
        reply = "ct state established,related counter accept"
        if net.internal:
            into = [reply, f'iifname != "{br}" counter drop comment "INTERNAL NETWORK INGRESS"']
            into.append(f'counter {icc} comment "ICC"')
            out_of = [reply, f'oifname != "{br}" counter drop comment "INTERNAL NETWORK EGRESS"']
            post_in: list[str] = []
            post_out: list[str] = []
        else:
            into = [reply, f'iifname "{br}" counter {icc} comment "ICC"']
            into += [
                f"{ip} daddr {family.address(p)} {p.publish.proto} dport {p.publish.container_port} counter accept"
                for p in ports
                if p.network.name == net.name
            ]
            into.append('counter drop comment "UNPUBLISHED PORT DROP"')
            out_of = [reply, 'counter accept comment "OUTGOING"']
            post_in = []
            if not proxy:
                post_in.append('fib saddr type local counter masquerade comment "MASQUERADE FROM HOST"')
                post_in += [
                    f"{ip} saddr {family.address(p)} {ip} daddr {family.address(p)} {p.publish.proto} "
                    f"dport {p.publish.container_port} "
                    'counter masquerade comment "MASQ TO OWN PORT"'
                    for p in ports
                    if p.network.name == net.name
                ]
            post_out = (
                [f'oifname != "{br}" {ip} saddr {family.subnet(net)} counter masquerade comment "MASQUERADE"']
                if net.masquerade
                else []
            )
        out += _chain(f"filter-forward-in__{br}", None, into)
        out += _chain(f"filter-forward-out__{br}", None, out_of)
        out += _chain(f"nat-postrouting-in__{br}", None, post_in)
        out += _chain(f"nat-postrouting-out__{br}", None, post_out)
    if out[-1] == "":
        out.pop()
    out.append("}")
    return "\n".join(out) + "\n"


def _chain(name: str, base: str | None, rules: Sequence[str]) -> list[str]:
    return [f"\tchain {name} {{", *([f"\t\t{base}"] if base else []), *(f"\t\t{r}" for r in rules), "\t}", ""]


def embedded_dns(udp_port: int, tcp_port: int) -> Rules:
    dns = "127.0.0.11"
    return Rules(
        nftables="\n".join(
            [
                "table ip docker-dns {",
                "\tchain dns-dnat {",
                "\t\ttype nat hook output priority -100; policy accept;",
                f"\t\tip daddr {dns} udp dport 53 counter dnat to {dns}:{udp_port}",
                f"\t\tip daddr {dns} tcp dport 53 counter dnat to {dns}:{tcp_port}",
                "\t}",
                "",
                "\tchain dns-snat {",
                "\t\ttype nat hook postrouting priority srcnat; policy accept;",
                f"\t\tip saddr {dns} udp sport {udp_port} counter snat to :53",
                f"\t\tip saddr {dns} tcp sport {tcp_port} counter snat to :53",
                "\t}",
                "}",
                "",
            ]
        )
    )


PROFILE = Profile(
    name="29-nftables",
    version="29.7.2",
    firewall_backend="nftables",
    sets_forward_policy=False,
    source="moby/moby docker-v29.7.2 nftabler testdata (tests/data/moby/nftables)",
    render=render,
    embedded_dns=embedded_dns,
)
