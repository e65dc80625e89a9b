"""Overlay across two Docker hosts: VXLAN over an underlay lan, as Docker's overlay driver builds it.

The lecture's Overlay card: networks across several Docker hosts (usually Swarm; since 23.0
always swarm mode); containers have their own addresses and subnets and exchange data directly
even on different physical hosts. Per node and overlay network there is a sandbox with br0 and
vxlan0 (VNI from 4096 up, UDP 4789), programmed with static fdb and neighbour entries; overlay
containers get their egress through docker_gwbridge (masqueraded, icc off).
"""

from netlab import Scenario

s = Scenario("overlay", title="Overlay network spanning two Docker hosts (VXLAN)")
underlay = s.lan("underlay")
ext = s.peer("ext", underlay)
node2 = s.node("node2")
ov = s.network("ov", driver="overlay")
other = s.network("other", driver="overlay")
a = s.container("a", ov)
b = s.container("b", ov, node=node2)
x = s.container("x", other, node=node2)

s.expect(a, b, "icmp", reachable=True, claim="Containers exchange data directly even on different physical hosts")
s.expect(b, a, "tcp:80", reachable=True)
s.expect(b, a, "udp:53", reachable=True)
s.expect(a, x, "icmp", reachable=False, claim="Separate overlay networks are isolated from each other")
s.expect(x, b, "icmp", reachable=False)
s.expect(a, ext, "icmp", reachable=True, claim="Overlay containers reach the outside through docker_gwbridge NAT")
s.expect(ext, a, "icmp", reachable=False)
s.expect("node2", b, "icmp", reachable=True)
s.expect("host", b, "icmp", reachable=False)

s.claim("overlay.multi-host")  # evidence: VXLAN on the underlay

SCENARIO = s
