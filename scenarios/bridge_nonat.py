"""Bridge with masquerading off (com.docker.network.bridge.enable_ip_masquerade=false).

The lecture: "Unless NAT is disabled, not hosted on the parent interface network for return
communications, so needs a host route to get back to container". With NAT off the peer sees the
container's own address and has no route back; once the peer routes the subnet via the host the
replies find their way (Docker's conntrack rule accepts them).
"""

from netlab import Scenario

s = Scenario("bridge_nonat", title="Bridge without NAT: the outside needs a route back")
lan = s.lan("lan0")
ext = s.peer("ext", lan)
plain = s.network("plain", driver="bridge", options={"com.docker.network.bridge.enable_ip_masquerade": False})
c1 = s.container("c1", plain)
n1 = s.container("n1", "bridge")

s.expect(c1, ext, "icmp", reachable=False, claim="Without NAT the outside has no route back to the container's subnet")
s.expect(c1, ext, "udp:53", reachable=False)
s.expect(n1, ext, "icmp", reachable=True, claim="Containers reach the outside through the host's NAT (masquerade)")
s.expect(c1, "host", "icmp", reachable=True)

with s.stage("route_back", "The peer routes the container subnet via the host") as st:
    st.route(ext, plain, via="host")
    st.expect(
        c1,
        ext,
        "icmp",
        reachable=True,
        claim="With a host route on the outside the container's own address gets its replies",
    )
    st.expect(c1, ext, "udp:53", reachable=True)
    st.expect(
        ext,
        c1,
        "icmp",
        reachable=False,
        claim="A route alone does not open the container: Docker's FORWARD policy drops new inbound flows",
        when={"engine": "<28", "forward_policy": "DROP"},
    )
    st.expect(
        ext,
        c1,
        "icmp",
        reachable=True,
        claim="On a host whose FORWARD policy stayed ACCEPT a route alone opens the container (Docker before 28)",
        when={"engine": "<28", "forward_policy": "ACCEPT"},
    )
    st.expect(
        ext,
        c1,
        "icmp",
        reachable=False,
        claim="Docker 28 drops new flows into a bridge from outside it in its DOCKER chain, whatever the policy",
        when={"engine": ">=28"},
    )

SCENARIO = s
