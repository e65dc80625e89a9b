"""An internal bridge network (`docker network create --internal`), Docker 20.10 semantics.

No MASQUERADE, no DOCKER chain, two DOCKER-ISOLATION-STAGE-1 drops for traffic leaving or
entering the subnet. On 20.10 the container keeps its default route, so it can still reach the
host's other addresses (that traffic is delivered locally and never crosses FORWARD); Docker 25
removed the gateway of internal networks. The lan has a fixed subnet so the host's lan address
(the top address, .254) can be named below.
"""

from netlab import Scenario

s = Scenario("bridge_internal", title="Internal bridge network: no way out, host still reachable")
lan = s.lan("lan0", subnet="198.18.100.0/24")
ext = s.peer("ext", lan)
inner = s.network("inner", driver="bridge", internal=True)
c1 = s.container("c1", inner)
c2 = s.container("c2", inner)
out = s.container("out", "bridge")

s.expect(c1, c2, "icmp", reachable=True)
s.expect("host", c1, "icmp", reachable=True, claim="Host system has network access to the container")
s.expect(c1, "host", "icmp", reachable=True)
s.expect(c1, "host", "icmp", reachable=True, address="198.18.100.254")
s.expect(c1, ext, "icmp", reachable=False, claim="An internal network has no external connectivity")
s.expect(ext, c1, "icmp", reachable=False)
s.expect(c1, out, "icmp", reachable=False)
s.expect(out, ext, "icmp", reachable=True)

SCENARIO = s
