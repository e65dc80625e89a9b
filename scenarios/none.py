"""The none network: loopback only, no routes, nothing in or out."""

from netlab import Scenario

s = Scenario("none", title="None network: a container with loopback only")
lan = s.lan("lan0")
ext = s.peer("ext", lan)
n1 = s.container("n1", "none")
c1 = s.container("c1", "bridge")

s.expect(n1, c1, "icmp", reachable=False, claim="A container on the none network has no network access")
s.expect(c1, n1, "icmp", reachable=False)
s.expect("host", n1, "icmp", reachable=False)
s.expect(n1, "host", "icmp", reachable=False)
s.expect(n1, ext, "icmp", reachable=False)
s.expect(c1, ext, "icmp", reachable=True)

SCENARIO = s
