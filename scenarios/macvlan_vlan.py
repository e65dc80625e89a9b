"""MacVLAN on VLANs of a trunk: the lecture's driver list says macvlan gives containers direct access to the host's
interface "and its sub-interfaces (vlan)" and "allows trunking".

lan0 is a trunk: its wire carries VLANs 50 and 60 tagged (802.1Q). p50 sits on VLAN 50, p60 on VLAN 60. Two macvlan
networks take Docker's sub-interface notation as their parent, `lan0.50` and `lan0.60` (`-o parent=eth0.50`): Docker
creates the 802.1Q sub-interface on the node's trunk port when it does not exist, and removes it with the network.
Containers on VLAN 50 reach VLAN 50's peer and each other, not VLAN 60 (its peer nor its containers): without a
router the VLANs are separate segments on one wire. The host reaches none of them: it has no address on a VLAN,
and a macvlan parent never talks to its children anyway.

r is a router on a stick: one port on the trunk, a leg on each VLAN at its first address, the gateway Docker
gives each macvlan network, so the containers' default route is r. A fresh router forwards nothing (IP forwarding
off): VLAN 50 still reaches VLAN 60 nowhere. In stage `routed` r forwards and the peers route the other VLAN
through it: now VLAN 50 reaches VLAN 60's peer and containers, and the trunk carries the routed packets tagged
60 on the way in and 50 on the way back.

This kernel may have no 802.1Q support (CONFIG_VLAN_8021Q): run it with --kernel uml, whose kernel has 8021q.ko.
"""

from netlab import Scenario

s = Scenario("macvlan_vlan", title="MacVLAN on 802.1Q sub-interfaces of a trunk (VLANs 50 and 60)")
lan = s.lan("lan0")
p50 = s.peer("p50", lan, vlan=50)
p60 = s.peer("p60", lan, vlan=60)
r = s.router("r", "lan0.50", "lan0.60")
v50 = s.network("v50", driver="macvlan", parent="lan0.50")
v60 = s.network("v60", driver="macvlan", parent="lan0.60")
a = s.container("a", v50)
b = s.container("b", v50)
c = s.container("c", v60)

s.expect(a, b, "icmp", reachable=True)
s.expect(a, p50, "icmp", reachable=True)
s.expect(p50, b, "tcp:80", reachable=True)
s.expect(c, p60, "icmp", reachable=True)
s.expect(a, p60, "icmp", reachable=False)
s.expect(a, c, "icmp", reachable=False)
s.expect(p50, p60, "icmp", reachable=False)
s.expect("host", a, "icmp", reachable=False)
s.expect(c, "host", "icmp", reachable=False)
s.expect(a, r, "icmp", reachable=True)  # its gateway, on its VLAN
s.expect(c, b, "icmp", reachable=False)  # r does not forward yet

with s.stage("routed", "r forwards between VLAN 50 and VLAN 60; the peers route the other VLAN through it") as st:
    st.forward(r)
    st.route(p50, "lan0.60", via=r)
    st.route(p60, "lan0.50", via=r)
    st.expect(a, p60, "icmp", reachable=True)
    st.expect(a, c, "icmp", reachable=True)
    st.expect(c, b, "tcp:80", reachable=True)
    st.expect(p50, p60, "icmp", reachable=True)
    st.expect("host", a, "icmp", reachable=False)  # the host is on no VLAN, and r is not its router

s.claim("macvlan.vlan")  # evidence: each VLAN's senders tagged with its own id on the trunk

SCENARIO = s
