"""IPvlan in L3 mode: one parent, two subnets, the host as a router without route advertisement.

The lecture's IPVLAN L3 card: containers reach each other even on different subnets as long as
they share the parent; the host interface acts as a router but advertises no routes, so the LAN
needs a static route back (stage `route`). L3 children have no ARP and no broadcast, and their
default route is `default dev eth0` with no next hop. The card's "IPTables use but
experimental-ish" is outdated: Docker 20.10 writes no iptables rules for ipvlan and the driver
left experimental in 19.03 (docs/drivers.md, Ipvlan).
The network and the lan are dual-stack: over IPv6 it is the same story (`default dev eth0` for IPv6 too, no NDP
proxy, no route advertised), and one IPv6 subnet serves both IPv4 subnets.
Needs a kernel with ipvlan (CONFIG_IPVLAN); elsewhere run it with `--kernel uml`.
"""

from netlab import Scenario

s = Scenario("ipvlan", title="IPvlan, L3 mode: two subnets on one parent")
lan = s.lan("lan0", ipv6=True)
ext = s.peer("ext", lan)
l3 = s.network(
    "l3",
    driver="ipvlan",
    parent=lan,
    subnet=["198.18.210.0/24", "198.18.211.0/24"],
    options={"ipvlan_mode": "l3"},
    ipv6=True,
)
c1 = s.container("c1", l3)
c2 = s.container("c2", l3)
c3 = s.container("c3", l3, ip="198.18.211.10")

s.expect(c1, c2, "icmp", reachable=True)
s.expect(
    c1,
    c3,
    "icmp",
    reachable=True,
    claim="Containers can reach each other even on different subnets as long as they share the parent",
)
s.expect(c3, c2, "tcp:80", reachable=True)
s.expect(
    c1,
    ext,
    "icmp",
    reachable=False,
    claim="Host interface acts as a router but no route advertisement: the LAN has no route back",
)
s.expect(ext, c2, "icmp", reachable=False)
s.expect("host", c1, "icmp", reachable=False)
s.expect(c1, c3, "icmp6", reachable=True, claim="ipvlan L3 children of one parent reach each other over IPv6 too")
s.expect(c3, c2, "tcp6:80", reachable=True)
s.expect(c1, ext, "icmp6", reachable=False)
s.expect(ext, c2, "icmp6", reachable=False)
s.expect("host", c1, "icmp6", reachable=False)

with s.stage("route", "The lan peer routes the container subnet via the host's parent address") as st:
    st.route(ext, l3, via="host")  # its first IPv4 subnet and its IPv6 one
    st.route(ext, "198.18.211.0/24", via="host")
    st.expect(
        c1,
        ext,
        "icmp",
        reachable=True,
        claim="With a static route on the LAN the containers are reachable through the host",
    )
    st.expect(ext, c2, "tcp:80", reachable=True)
    st.expect(ext, c3, "icmp", reachable=True)
    st.expect(
        c1,
        ext,
        "icmp6",
        reachable=True,
        claim="Over IPv6 too the lan needs a static route to the ipvlan L3 subnet via the host",
    )
    st.expect(ext, c3, "tcp6:80", reachable=True)

# the card says "IPTables use": Docker 20.10 writes none for ipvlan (see the docstring)
s.claim("ipvlan.iptables", holds=False)

SCENARIO = s
