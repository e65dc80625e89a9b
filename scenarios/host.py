"""Host driver: the container shares the Docker host's network namespace.

The lecture's Host card: the container uses the parent's interfaces as the parent does, no
iptables rules are made for it, and host and containers share interfaces, addresses and ports,
so explicit (port) assignment is required: h1's application listens on 8081; h2's wants 8081 too
and cannot bind it (h1 holds it in the one port space they share: the cell to h2 on 8081 is h1
answering), so h2 is assigned 8082. A host-network container's socket is on every host address:
the lan reaches 8081 at the host's lan address, the bridge container at the host's address on its
bridge. Port publishing is discarded with Docker's warning: nothing listens on h1's 9000.
"""

from netlab import Scenario

s = Scenario("host", title="Host network: the container is the host, network-wise")
lan = s.lan("lan0")
ext = s.peer("ext", lan)
h1 = s.container("h1", "host", publish={9000: 9000}, listen=["tcp:8081"])
h2 = s.container("h2", "host", listen=["tcp:8081", "tcp:8082"])
net = s.network("side", driver="bridge")
b1 = s.container("b1", net)

s.expect(h1, ext, "icmp", reachable=True, claim="Can use parent network interfaces in the same way as the parent")
s.expect(ext, h1, "icmp", reachable=True)
s.expect(
    ext, h1, "tcp:8081", reachable=True, claim="Host and all containers share interface and associated addresses/ports"
)
s.expect(ext, "host", "tcp:8081", reachable=True)
s.expect(b1, "host", "tcp:8081", reachable=True)  # the same socket, at the host's address on the bridge
s.expect(ext, h2, "tcp:8081", reachable=True)  # h1's socket answers: h2 could not bind 8081
s.expect(ext, h2, "tcp:8082", reachable=True, claim="Explicit assignment required")
s.expect(ext, h1, "tcp:9000", reachable=False)  # published ports are discarded in host mode
s.expect(h1, b1, "icmp", reachable=True, claim="Host system has network access to the container")
s.expect(b1, h1, "icmp", reachable=True)
s.expect(ext, b1, "icmp", reachable=False)

s.claim("host.no-iptables")
s.claim("host.shared")  # evidence: the lan knows h1 by the node's MAC
s.claim("host.explicit-assignment")  # evidence: h2 could not bind 8081, h1 holds it

SCENARIO = s
