"""IPvlan in L2 mode: containers on the LAN with their own IP but the parent's MAC.

Like macvlan bridge mode at L3 (own addresses on the parent's subnet, ARP works), but every child
shares the parent's MAC. The host cannot reach its children through the parent. The lan and the
network are dual-stack: over IPv6 (NDP instead of ARP) the same holds. Needs a kernel with ipvlan
(CONFIG_IPVLAN); elsewhere run it with `--kernel uml`.
"""

from netlab import Scenario

s = Scenario("ipvlan_l2", title="IPvlan, L2 mode: own IPs, the parent's MAC")
lan = s.lan("lan0", ipv6=True)
ext = s.peer("ext", lan)
iv = s.network("iv", driver="ipvlan", parent=lan, options={"ipvlan_mode": "l2"}, ipv6=True)
c1 = s.container("c1", iv)
c2 = s.container("c2", iv)

s.expect(c1, c2, "icmp", reachable=True)
s.expect(ext, c1, "icmp", reachable=True, claim="IPvlan L2 children are reachable on the parent's LAN")
s.expect(c2, ext, "tcp:22", reachable=True)
s.expect(
    "host",
    c1,
    "icmp",
    reachable=False,
    claim="Containers cannot reach the underlying host interface: the kernel filters it",
)
s.expect(c1, "host", "icmp", reachable=False)
s.expect(c1, c2, "icmp6", reachable=True)
s.expect(ext, c1, "icmp6", reachable=True, claim="Over IPv6 too the children are on the parent's LAN")
s.expect("host", c1, "icmp6", reachable=False)

SCENARIO = s
