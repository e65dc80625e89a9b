"""Bridge networks with IPv6: is the IPv6 path as closed as the IPv4 one?

`front` and `back` are dual-stack user-defined bridges (Docker's `--ipv6`), `legacy` an IPv4-only one; the lan is
dual-stack too and ext a peer on it. Docker 20.10 (without `--experimental --ip6tables`) writes no ip6tables rule:
IPv6 crosses between bridge networks unfiltered, containers leave with their own IPv6 address (no NAT66), and a
route on the lan opens every container port. Since Docker 27 ip6tables is on by default (20.10 with
`--experimental --ip6tables` too: `netlab run bridge_ipv6 --engine 20.10 --ip6tables on`) and IPv6 gets the IPv4
rules: isolation, NAT66 masquerade, and the DROP of what is routed to a container from outside. A published port
is bound on `::` too: docker-proxy relays IPv6 clients even to a container that has no IPv6 address (`old`).
"""

from netlab import Scenario

s = Scenario("bridge_ipv6", title="IPv6 on bridge networks: dual stack, isolation and NAT66 per Docker version")
lan = s.lan("lan0", ipv6=True)
ext = s.peer("ext", lan)
front = s.network("front", ipv6=True)
back = s.network("back", ipv6=True)
legacy = s.network("legacy")
web = s.container("web", front, publish={8080: 80})
app = s.container("app", front)
db = s.container("db", back)
old = s.container("old", legacy, publish={9090: 80})

s.expect(web, app, "icmp6", reachable=True, claim="Containers on the same dual-stack bridge reach each other over IPv6")
s.expect(app, web, "tcp6:80", reachable=True)
s.expect(
    app, web, "dns6:web", reachable=True, claim="Docker's embedded DNS answers AAAA with the container's IPv6 address"
)
s.expect(web, old, "icmp6", reachable=False, claim="A container on an IPv4-only network has no IPv6 address")
s.expect("host", web, "icmp6", reachable=True, claim="The host reaches its dual-stack bridge over IPv6 too")
s.expect(web, db, "icmp", reachable=False)
s.expect(
    web,
    db,
    "icmp6",
    reachable=True,
    claim="Without ip6tables (Docker 20.10's default) bridge networks isolated over IPv4 are not over IPv6",
    when={"ip6tables": "off"},
)
s.expect(
    web,
    db,
    "icmp6",
    reachable=False,
    claim="With ip6tables (the default since Docker 27) bridge networks are isolated over IPv6 as over IPv4",
    when={"ip6tables": "on"},
)
s.expect(web, ext, "icmp", reachable=True)
s.expect(
    web,
    ext,
    "icmp6",
    reachable=False,
    claim="No NAT66 without ip6tables: the peer sees the container's own IPv6 address and has no route back to it",
    when={"ip6tables": "off"},
)
s.expect(
    web,
    ext,
    "icmp6",
    reachable=True,
    claim="With ip6tables containers reach the outside over IPv6 masqueraded as the host (NAT66)",
    when={"ip6tables": "on"},
)
s.expect(ext, web, "icmp6", reachable=False)
s.expect(
    ext,
    "host",
    "tcp6:9090",
    reachable=True,
    claim="docker-proxy listens on [::] for a published port: IPv6 clients reach a container with no IPv6 address",
    when={"userland_proxy": "on"},
)
s.expect(ext, "host", "tcp6:9090", reachable=False, when={"userland_proxy": "off"})
s.expect(ext, "host", "tcp6:8080", reachable=True, when={"userland_proxy": "on"})
s.expect(ext, "host", "tcp6:8080", reachable=False, when={"userland_proxy": "off", "ip6tables": "off"})
s.expect(ext, "host", "tcp6:8080", reachable=True, when={"userland_proxy": "off", "ip6tables": "on"})

with s.stage("route", "The peer routes the dual-stack network via the host, over IPv4 and IPv6") as st:
    st.route(ext, front, via="host")
    st.expect(
        ext,
        web,
        "icmp6",
        reachable=True,
        claim="Without ip6tables IPv6 is unfiltered: a route on the lan opens every container port, whatever the "
        "IPv4 FORWARD policy",
        when={"ip6tables": "off"},
    )
    st.expect(
        ext,
        web,
        "icmp6",
        reachable=False,
        claim="With ip6tables what is routed to a container from outside its bridge is dropped over IPv6 too",
        when={"ip6tables": "on"},
    )
    st.expect(ext, web, "icmp", reachable=False, when={"engine": "<28", "forward_policy": "DROP"})
    st.expect(ext, web, "icmp", reachable=True, when={"engine": "<28", "forward_policy": "ACCEPT"})
    st.expect(ext, web, "icmp", reachable=False, when={"engine": ">=28"})
    st.expect(web, ext, "icmp6", reachable=True)  # no ip6tables: ext now routes the reply back; with: NAT66

SCENARIO = s
