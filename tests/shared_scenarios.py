"""Scenarios both the netns and the docker tier run (their cells must agree).

proxy(): the userland proxy (docker-proxy). `web` publishes tcp 8080 -> 80 and udp 9053 -> 53 on `front`; `c`
shares `front` with it, `o` sits on `back`.
Both probe the host's published ports through a gateway address of the host:

- With docker-proxy (Docker's default) traffic from a bridge to a host address is not DNAT'ed (20.10 and 28:
  `-A DOCKER -i <bridge> -j RETURN`; 20.10-29: `DNAT ! -i <the published container's bridge>`): the host's
  INPUT takes it and docker-proxy relays it to web, so even `o`, whose bridge Docker isolates from `front`,
  gets through.
- Without it (hairpin NAT) every source is DNAT'ed: `c` reaches web across its own bridge, `o`'s packets are
  forwarded back -> front and Docker's isolation drops them before Docker 29, which dropped those chains and
  accepts forwarded traffic to published ports from anywhere.
- docker-proxy's UDP replies come from the address the host routes back with, so asking a UDP port through
  another bridge's gateway gets no answer a connected socket accepts.
"""

from __future__ import annotations

from netlab import Scenario

FRONT_GW, BACK_GW = "198.18.70.1", "198.18.71.1"


def proxy() -> Scenario:
    s = Scenario("proxy")
    front = s.network("front", subnet="198.18.70.0/24")
    back = s.network("back", subnet="198.18.71.0/24")
    web = s.container("web", front, publish={8080: 80, 9053: "53/udp"})
    s.container("c", front)
    s.container("o", back)
    for probe in ("tcp:8080", "udp:9053"):
        s.expect("c", "host", probe, address=FRONT_GW)
    s.expect("c", "host", "tcp:8080", address=BACK_GW)
    # docker-proxy answers a datagram from its 0.0.0.0 socket: the reply leaves from the address of c's own
    # bridge, not the one c asked, and c's connected socket never takes it
    s.expect("c", "host", "udp:9053", address=BACK_GW, reachable=False, when={"userland_proxy": "on"})
    s.expect("c", "host", "udp:9053", address=BACK_GW, when={"userland_proxy": "off"})
    for probe in ("tcp:8080", "udp:9053"):
        s.expect("o", "host", probe, address=BACK_GW, when={"userland_proxy": "on"})
        s.expect("o", "host", probe, address=BACK_GW, reachable=False, when={"userland_proxy": "off", "engine": "<29"})
        s.expect("o", "host", probe, address=BACK_GW, when={"userland_proxy": "off", "engine": ">=29"})
    s.expect("o", web, "tcp:80", reachable=False)
    return s


def two_subnet_macvlan() -> Scenario:
    """`docker network create -d macvlan --subnet A --subnet B`: a, a2 numbered from the first, b given an
    address of the second; each container's default route goes to its own subnet's gateway."""
    s = Scenario("mv2")
    lan = s.lan("lan0")
    m = s.network("m", driver="macvlan", parent=lan, subnet=["198.18.40.0/24", "198.18.41.0/24"])
    a = s.container("a", m)
    a2 = s.container("a2", m)
    b = s.container("b", m, ip="198.18.41.10")
    s.expect(a, a2, "icmp", reachable=True)
    s.expect(b, a, "icmp", reachable=False)  # another subnet, and no router at 198.18.41.1
    return s


def sidecar() -> Scenario:
    """Docker's `--network container:web`: `side` joins web's namespace. It has web's address, reaches what web
    reaches and is reached at web's address (a port it listens on is web's port); it has no DNS name of its own,
    and asks web's resolver."""
    s = Scenario("sidecar")
    app = s.network("app")
    web = s.container("web", app)
    side = s.container("side", network_mode=web)
    other = s.container("other", app)
    lone = s.container("lone")  # on the default bridge
    s.expect(side, web, "icmp", reachable=True)
    s.expect(other, side, "icmp", reachable=True)
    s.expect(side, other, "icmp", reachable=True)
    s.expect(side, lone, "icmp", reachable=False)
    s.expect(other, side, "tcp:8080", reachable=True)
    s.expect(side, other, "dns:other", reachable=True)  # web's embedded DNS
    s.expect(other, side, "dns:side", reachable=False)  # no endpoint, no name
    s.expect(other, web, "dns:web", reachable=True)
    return s


def loopback_publish() -> Scenario:
    """`-p 127.0.0.1:8080:80` beside `-p 8081:81`: the port published on one host address is reached only there,
    neither from the LAN nor from a container at the host's bridge address; the other from both."""
    s = Scenario("lopub")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    app = s.network("app")
    s.container("web", app, publish={"127.0.0.1:8080": 80, 8081: 81})
    cli = s.container("cli", app)
    s.expect(ext, "host", "tcp:8080", reachable=False)
    s.expect(ext, "host", "tcp:8081", reachable=True)
    s.expect(cli, "host", "tcp:8080", reachable=False)
    s.expect(cli, "host", "tcp:8081", reachable=True)
    return s


def docker_user() -> Scenario:
    """Rules of the user's own in DOCKER-USER (Scenario.docker_user), which FORWARD runs before any of Docker's:
    a published port DNATed to web is then dropped on its way in, traffic between two containers of one bridge
    too (br_netfilter hands bridged frames to FORWARD), web's way out to the lan is rejected; the host's own
    packets are not forwarded and pass."""
    s = Scenario("dockeruser")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    front = s.network("front")
    web = s.container("web", front, publish={8080: 80})
    app = s.container("app", front)
    s.expect(ext, "host", "tcp:8080")
    s.expect(app, web, "tcp:80")
    s.expect(web, ext, "icmp")
    with s.stage("blocked", "Rules of the user's own in DOCKER-USER") as st:
        st.docker_user("-d {front} -p tcp --dport 80 -j DROP")
        st.docker_user("-s {front} -d {lan0} -j REJECT")
        st.expect(ext, "host", "tcp:8080", reachable=False)
        st.expect(app, web, "tcp:80", reachable=False)
        st.expect(app, web, "icmp")
        st.expect("host", web, "tcp:80")
        st.expect(web, ext, "icmp", reachable=False)
    return s


def daemon_options() -> Scenario:
    """A daemon started `dockerd --icc=false --ip=127.0.0.1 --userland-proxy=false` (Scenario.daemon): the default
    bridge is closed between its containers (a user network keeps its icc), a publish that names no host address
    binds the daemon's 127.0.0.1 (so neither the lan nor a container reaches it at the host's other addresses),
    and the host itself still reaches every container."""
    s = Scenario("daemonopts")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    s.daemon(icc=False, ip="127.0.0.1", userland_proxy=False)
    a = s.container("a", "bridge")
    b = s.container("b", "bridge")
    user = s.network("user")
    c = s.container("c", user)
    d = s.container("d", user)
    web = s.container("web", user, publish={8080: 80})
    s.expect(a, b, "icmp", reachable=False)
    s.expect(c, d, "icmp")
    s.expect(ext, "host", "tcp:8080", reachable=False)
    s.expect(c, "host", "tcp:8080", reachable=False)
    s.expect("host", web, "tcp:80")
    s.expect("host", a, "icmp")
    return s


def no_parent() -> Scenario:
    """macvlan and ipvlan networks created without a parent: Docker makes a dummy link (dm-<id>, di-<id>) the parent,
    so their containers reach each other and nothing else (Docker 26.1 and later call them internal). Dual-stack:
    over IPv6 the same."""
    s = Scenario("noparent")
    mv = s.network("mv", driver="macvlan", ipv6=True)
    iv = s.network("iv", driver="ipvlan", options={"ipvlan_mode": "l2"}, ipv6=True)
    a, b = s.container("a", mv), s.container("b", mv)
    c, d = s.container("c", iv), s.container("d", iv)
    s.expect(a, b, "icmp")
    s.expect(c, d, "tcp:80")
    s.expect("host", a, "icmp", reachable=False)
    s.expect(a, c, "icmp", reachable=False)
    s.expect(b, a, "dns:a")
    s.expect(a, b, "icmp6")
    s.expect(c, d, "tcp6:80")
    s.expect("host", a, "icmp6", reachable=False)
    s.expect(a, c, "icmp6", reachable=False)
    s.expect(b, a, "dns6:a")
    return s


def bridge_options(bridge: str = "nlbropts") -> Scenario:
    """A user bridge with Docker's three driver options that compose files carry besides icc and masquerade: its own
    bridge name, an MTU (set on both ends of each veth), and a default host address for its published ports
    (host_binding_ipv4=127.0.0.1: a publish naming no address binds loopback only, so neither the lan nor a
    container reaches it at the host's other addresses). A publish naming its address keeps it. And a container's
    own kernel settings (`--sysctl`): c ignores echo requests, and an eth0 key is set once eth0 exists."""
    s = Scenario("bropts")
    lan = s.lan("lan0")
    ext = s.peer("ext", lan)
    n = s.network(
        "n",
        options={
            "com.docker.network.bridge.name": bridge,
            "com.docker.network.driver.mtu": "1400",
            "com.docker.network.bridge.host_binding_ipv4": "127.0.0.1",
        },
    )
    other = s.network("other")
    web = s.container("web", n, publish={8080: 80})
    s.container("c", n, sysctls={"net.ipv4.icmp_echo_ignore_all": 1, "net.ipv4.conf.eth0.arp_ignore": 1})
    s.container("d", other, publish={"0.0.0.0:8081": 80})
    s.expect(web, "c", "icmp", reachable=False)
    s.expect(ext, "host", "tcp:8080", reachable=False)
    s.expect("c", "host", "tcp:8080", reachable=False)
    s.expect(ext, "host", "tcp:8081")
    s.expect("host", web, "tcp:80")
    s.expect("c", web, "icmp")
    return s


def published6() -> Scenario:
    """Published ports reached over IPv6 from containers: through docker-proxy's `[::]` binding, or without it
    through an ip6tables DNAT only (hairpin NAT from the published container's own bridge, the isolation rules
    from another before Docker 29); a container with no IPv6 address is reached through docker-proxy only."""
    s = Scenario("published6")
    front = s.network("front", ipv6=True)
    back = s.network("back", ipv6=True)
    legacy = s.network("legacy")
    s.container("web", front, publish={8080: 80})
    s.container("old", legacy, publish={9090: 80})
    app = s.container("app", front)
    db = s.container("db", back)
    for src in (app, db):
        for probe in ("tcp6:8080", "tcp6:9090"):
            s.measure(src, "host", probe)
    return s


def two_hosts() -> Scenario:
    """Two Docker hosts on one lan, a bridge network on each (no overlay): `b` publishes tcp 8080 -> 80 on node2.
    Each host's engine is its own (Podman: one service per node); the bridges share a name and a subnet and
    carry nothing between the hosts."""
    s = Scenario("twohosts")
    lan = s.lan("lan0")
    node2 = s.node("node2")
    ext = s.peer("ext", lan)
    front = s.network("front")
    a = s.container("a", front)
    b = s.container("b", front, node=node2, publish={8080: 80})
    s.expect(a, "node2", "tcp:8080")
    s.expect(ext, "node2", "tcp:8080")
    s.expect(a, b, "icmp", reachable=False)
    s.expect(b, ext, "icmp")
    s.expect("host", a, "icmp")
    s.expect("node2", a, "icmp", reachable=False)
    return s
