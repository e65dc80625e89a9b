"""Bridge with inter-container communication disabled (com.docker.network.bridge.enable_icc=false).

Docker appends `-A FORWARD -i <br> -o <br> -j DROP` instead of the ICC ACCEPT; br_netfilter makes
the bridged traffic go through that chain. Containers still reach the host and the outside.
"""

from netlab import Scenario

s = Scenario("bridge_icc", title="Bridge with enable_icc=false: per-network microsegmentation")
lan = s.lan("lan0")
ext = s.peer("ext", lan)
closed = s.network("closed", driver="bridge", options={"com.docker.network.bridge.enable_icc": False})
opened = s.network("opened", driver="bridge")
c1 = s.container("c1", closed)
c2 = s.container("c2", closed)
o1 = s.container("o1", opened)
o2 = s.container("o2", opened)

s.expect(
    c1,
    c2,
    "icmp",
    reachable=False,
    claim="Allows microsegmentation: enable_icc=false drops traffic between containers of one network",
)
s.expect(c2, c1, "tcp:80", reachable=False)
s.expect(o1, o2, "icmp", reachable=True)
s.expect(c1, "host", "icmp", reachable=True)
s.expect("host", c2, "icmp", reachable=True, claim="Host system has network access to the container")
s.expect(c1, ext, "icmp", reachable=True, claim="Containers reach the outside through the host's NAT (masquerade)")
s.expect(c1, o1, "icmp", reachable=False)

SCENARIO = s
