"""MacVLAN in private mode: children of one parent cannot talk to each other at all.

The kernel's MACVLAN_MODE_PRIVATE: "don't talk to other macvlans", not even through an external
switch that reflects frames. The lan peer still reaches every child.
"""

from netlab import Scenario

s = Scenario("macvlan_private", title="MacVLAN, private mode: children isolated from each other")
lan = s.lan("lan0")
ext = s.peer("ext", lan)
mv = s.network("mv", driver="macvlan", parent=lan, options={"macvlan_mode": "private"})
c1 = s.container("c1", mv)
c2 = s.container("c2", mv)

s.expect(
    c1, c2, "icmp", reachable=False, claim="Private mode: macvlan children of one parent do not talk to each other"
)
s.expect(c2, c1, "udp:53", reachable=False)
s.expect(
    ext,
    c1,
    "icmp",
    reachable=True,
    claim="Containers interact with the network as if they were independent systems (own MAC and IP on the LAN)",
)
s.expect(c2, ext, "icmp", reachable=True)
s.expect(
    "host", c2, "icmp", reachable=False, claim="Host system does NOT have network access to the container via bridge"
)

SCENARIO = s
