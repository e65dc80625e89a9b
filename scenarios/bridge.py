"""Bridge driver: the lecture's "Bridged" card, and the iptables (or nftables) rules Docker writes behind it.

Two containers on a user-defined bridge, one on a second user-defined bridge, one on Docker's
default bridge, and an external system (a lan peer). web publishes port 80 on the host's 8080.
"""

from netlab import Scenario

s = Scenario("bridge", title="Bridge networks: same-network reach, isolation, NAT, published ports")
lan = s.lan("lan0")
ext = s.peer("ext", lan)
front = s.network("front", driver="bridge")
back = s.network("back", driver="bridge")
web = s.container("web", front, publish={8080: 80})
app = s.container("app", front)
db = s.container("db", back)
legacy = s.container("legacy", "bridge")

s.expect(web, app, "icmp", reachable=True, claim="Containers on the same bridge network reach each other")
s.expect(app, web, "tcp:80", reachable=True)
s.expect(
    web,
    db,
    "icmp",
    reachable=False,
    claim="Can only reach each other on the same broadcast domain (other bridge networks are isolated)",
)
s.expect(db, web, "icmp", reachable=False)
s.expect(legacy, app, "icmp", reachable=False)
s.expect("host", web, "icmp", reachable=True, claim="Host system has network access to the container")
s.expect("host", db, "tcp:5432", reachable=True)
s.expect("host", legacy, "icmp", reachable=True)
s.expect(web, ext, "icmp", reachable=True, claim="Containers reach the outside through the host's NAT (masquerade)")
s.expect(legacy, ext, "udp:53", reachable=True)
s.expect(
    app,
    web,
    "dns:web",
    reachable=True,
    claim="User-defined bridges resolve container names (Docker's embedded DNS at 127.0.0.11)",
)
s.expect(
    legacy,
    web,
    "dns:web",
    reachable=False,
    claim="The default bridge has no embedded DNS: containers cannot resolve each other by name",
)
s.expect(
    ext,
    web,
    "icmp",
    reachable=False,
    claim="Not hosted on the parent interface network: the outside has no route to the container",
)
s.expect(
    ext,
    "host",
    "tcp:8080",
    reachable=True,
    claim="A published port is reachable from the outside through the host's address (DNAT)",
)

with s.stage(
    "route", "The peer routes the container subnet via the host; what passes depends on the Docker version and host"
) as st:
    st.route(ext, front, via="host")
    st.expect(
        ext,
        web,
        "icmp",
        reachable=False,
        claim="Only published ports pass the DOCKER chain: a route alone does not expose a container",
        when={"engine": "<28", "forward_policy": "DROP"},
    )
    st.expect(
        ext,
        web,
        "icmp",
        reachable=True,
        claim="Docker 20.10 leaves the FORWARD policy ACCEPT on a host whose IP forwarding was already on: "
        "a route alone exposes every container port",
        when={"engine": "<28", "forward_policy": "ACCEPT"},
    )
    st.expect(
        ext,
        web,
        "icmp",
        reachable=False,
        claim="Docker 28 drops what is routed to a container from outside its bridge, whatever the FORWARD policy",
        when={"engine": ">=28"},
    )
    st.expect(
        ext,
        web,
        "tcp:80",
        reachable=True,
        claim="The published container port is accepted by the DOCKER chain when routed directly",
        when={"engine": "<28"},
    )
    st.expect(
        ext,
        web,
        "tcp:80",
        reachable=False,
        claim="Docker 28 drops direct routed access to a container with published ports (raw PREROUTING): "
        "only the host's published port reaches it",
        when={"engine": ">=28"},
    )
    st.expect(ext, app, "tcp:80", reachable=False, when={"engine": "<28", "forward_policy": "DROP"})
    st.expect(ext, app, "tcp:80", reachable=True, when={"engine": "<28", "forward_policy": "ACCEPT"})
    st.expect(ext, app, "tcp:80", reachable=False, when={"engine": ">=28"})
    st.expect(ext, "host", "tcp:8080", reachable=True)

s.claim("bridge.iptables")  # evidence: the firewall diff
s.claim("bridge.return-route")  # evidence: NAT seen on the lan

SCENARIO = s
