"""Host driver: the container shares the Docker host's network namespace.

The lecture's Host card: the container uses the parent's interfaces as the parent does, no
iptables rules are made for it, and host and containers share interfaces, addresses and ports
(port publishing is discarded with a warning).
"""

from netlab import Scenario

s = Scenario("host", title="Host network: the container is the host, network-wise")
lan = s.lan("lan0")
ext = s.peer("ext", lan)
h1 = s.container("h1", "host", publish={9000: 9000})
net = s.network("side", driver="bridge")
b1 = s.container("b1", net)

s.expect(h1, ext, "icmp", reachable=True, claim="Can use parent network interfaces in the same way as the parent")
s.expect(ext, h1, "icmp", reachable=True)
s.expect(
    ext, h1, "tcp:8081", reachable=True, claim="Host and all containers share interface and associated addresses/ports"
)
s.expect(ext, "host", "tcp:8081", reachable=True)
s.expect(h1, b1, "icmp", reachable=True, claim="Host system has network access to the container")
s.expect(b1, h1, "icmp", reachable=True)
s.expect(ext, b1, "icmp", reachable=False)

s.claim("host.no-iptables")
s.claim("host.shared")  # evidence: the lan knows h1 by the node's MAC

SCENARIO = s
