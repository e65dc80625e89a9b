"""MacVLAN in bridge mode: containers appear on the LAN as machines of their own.

The lecture's MacVLAN card: containers interact with the network as if they were independent
systems (own MAC, own IP on the parent's LAN); the host does NOT reach them through the parent
("bridge" here is the macvlan mode, not a Linux bridge) but may use an alternative interface,
the usual fix being a macvlan "shim" interface of the host's own (stage `shim`). Docker writes no
iptables rules for macvlan. Without a subnet, netlab puts the network on its parent lan's subnet.
The lan and the network are dual-stack (`--ipv6`): over IPv6 the children are on the lan just as well, the
host cannot reach them through the parent either, and the lecture's shim, an IPv4 address on a macvlan of
the host's, does not change that.
"""

from netlab import Scenario

s = Scenario("macvlan", title="MacVLAN, bridge mode (L2)")
lan = s.lan("lan0", ipv6=True)
ext = s.peer("ext", lan)
mv = s.network("mv", driver="macvlan", parent=lan, options={"macvlan_mode": "bridge"}, ipv6=True)
c1 = s.container("c1", mv)
c2 = s.container("c2", mv)

s.expect(c1, c2, "icmp", reachable=True, claim="Children of one parent in bridge mode talk to each other directly")
s.expect(
    ext,
    c1,
    "icmp",
    reachable=True,
    claim="Containers interact with the network as if they were independent systems (own MAC and IP on the LAN)",
)
s.expect(c2, ext, "tcp:22", reachable=True)
s.expect(
    "host", c1, "icmp", reachable=False, claim="Host system does NOT have network access to the container via bridge"
)
s.expect(c1, "host", "icmp", reachable=False)
s.expect(c1, c2, "icmp6", reachable=True)
s.expect(ext, c1, "icmp6", reachable=True, claim="Over IPv6 too the children are systems of their own on the LAN")
s.expect("host", c1, "icmp6", reachable=False)

with s.stage("shim", "Give the host a macvlan interface of its own on the parent") as st:
    st.shim("host", lan)
    st.expect(
        "host",
        c1,
        "icmp",
        reachable=True,
        claim="...but may use an alternative interface (a macvlan shim on the same parent)",
    )
    st.expect(c2, "host", "icmp", reachable=True)
    st.expect(ext, c1, "icmp", reachable=True)
    st.expect(
        "host",
        c1,
        "icmp6",
        reachable=False,
        claim="The shim carries an IPv4 address only: over IPv6 the host still cannot reach its children",
    )

s.claim("macvlan.independent")  # evidence: own MACs on the lan, no NAT
s.claim("macvlan.no-iptables")

SCENARIO = s
